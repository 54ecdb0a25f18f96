import LatticeInjector
import Testing

@Suite struct JSONValueTests {
    @Test func keysKeepTheirOrderAndIntegersStayExact() throws {
        let text = #"{"z":1,"a":{"y":9007199254740993,"b":-0.5,"c":1e3},"m":[true,false,null,"s"]}"#
        let value = try JSONValue.parse(text)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(value["a"]?["y"] == .integer(9_007_199_254_740_993))
        #expect(value["a"]?["b"] == .double(-0.5))
        #expect(value["a"]?["c"] == .double(1000))
        #expect(value.jsonText == #"{"z":1,"a":{"y":9007199254740993,"b":-0.5,"c":1000.0},"m":[true,false,null,"s"]}"#)
    }

    @Test func stringsRoundTripWithEscapes() throws {
        let original = "quote \" backslash \\ newline \n tab \t nul \u{0} é 🚀 </script>"
        let serialized = JSONValue.string(original).jsonText
        #expect(try JSONValue.parse(serialized) == .string(original))
        #expect(try JSONValue.parse(#""\u00e9\ud83d\ude80\/""#) == .string("é🚀/"))
    }

    @Test func duplicateKeysKeepTheLastValueAtTheFirstPosition() throws {
        let value = try JSONValue.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value.objectValue?.keys == ["a", "b"])
        #expect(value["a"] == .integer(3))
    }

    @Test(arguments: [
        ("", "the input ends where a value was expected"),
        ("{", "expected a member name in double quotes"),
        (#"{"a" 1}"#, "expected ':' after a member name"),
        ("[1,]", "expected a value"),
        ("[1 2]", "expected ',' or ']' in a list"),
        ("01", "unexpected data after the end of the value"),
        (#""\x""#, "an invalid escape '\\x'"),
        ("\"a\nb\"", "a control character inside a string must be escaped"),
        ("nul", "expected null"),
        ("{} {}", "unexpected data after the end of the value"),
    ])
    func malformedJSONIsNamed(_ input: String, _ reason: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(input) }
        do {
            _ = try JSONValue.parse(input)
        } catch {
            #expect(error.reason == reason, "\(input)")
        }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
    }
}

@Suite struct JSONPatchTests {
    @Test func pointersEscapeTildeAndSlash() throws {
        let pointer = JSONPointer(["metadata", "annotations", "lattice.io/inject", "a~b"])
        #expect(pointer.description == "/metadata/annotations/lattice.io~1inject/a~0b")
        #expect(try JSONPointer(parsing: pointer.description) == pointer)
        // ~01 is "~1" unescaped once, not "/".
        #expect(try JSONPointer(parsing: "/~01").tokens == ["~1"])
    }

    @Test func addRemoveReplaceFollowRFC6902() throws {
        let doc = try JSONValue.parse(#"{"a":{"b":[1,2]},"c":"x"}"#)
        let patch = JSONPatch([
            .add(JSONPointer(["a", "b", "0"]), 0),
            .add(JSONPointer(["a", "b", "-"]), 3),
            .add(JSONPointer(["a", "new/key"]), "v"),
            .replace(JSONPointer(["c"]), "y"),
            .remove(JSONPointer(["a", "b", "1"])),
        ])
        let patched = try patch.apply(to: doc)
        #expect(patched.jsonText == #"{"a":{"b":[0,2,3],"new/key":"v"},"c":"y"}"#)
        // The wire form parses back to the same operations.
        #expect(try JSONPatch(parsing: patch.serialized()) == patch)
        #expect(
            String(decoding: JSONPatch([.add(JSONPointer(["a", "new/key"]), "v")]).serialized(), as: UTF8.self)
                == #"[{"op":"add","path":"/a/new~1key","value":"v"}]"#
        )
    }

    @Test func operationsOnMissingPathsFailNamingTheOperation() throws {
        let doc = try JSONValue.parse(#"{"a":[1]}"#)
        #expect(throws: JSONPatchError.self) { try JSONPatch([.add(JSONPointer(["b", "c"]), 1)]).apply(to: doc) }
        #expect(throws: JSONPatchError.self) { try JSONPatch([.remove(JSONPointer(["a", "5"]))]).apply(to: doc) }
        #expect(throws: JSONPatchError.self) { try JSONPatch([.replace(JSONPointer(["x"]), 1)]).apply(to: doc) }
        #expect(throws: JSONPatchError.self) { try JSONPatch([.add(JSONPointer(["a", "2"]), 1)]).apply(to: doc) }
        do {
            _ = try JSONPatch([.add(JSONPointer(["b", "c"]), 1)]).apply(to: doc)
        } catch {
            #expect(error.description.contains("operation 0"))
            #expect(error.description.contains("no member 'b'"))
        }
    }
}

@Suite struct YAMLBridgeTests {
    @Test func yamlKeepsKeyOrderAndTypes() throws {
        let yaml = """
            kind: Deployment
            apiVersion: apps/v1
            spec:
              replicas: 3
              ratio: 0.25
              paused: false
              port: "8080"
              empty: null
              list: [b, a]
            """
        let value = try #require(try JSONValue.parseYAML(yaml))
        #expect(value.objectValue?.keys == ["kind", "apiVersion", "spec"])
        #expect(value["spec"]?["replicas"] == .integer(3))
        #expect(value["spec"]?["ratio"] == .double(0.25))
        #expect(value["spec"]?["paused"] == .bool(false))
        #expect(value["spec"]?["port"] == .string("8080"))
        #expect(value["spec"]?["empty"] == .null)
        #expect(value["spec"]?["list"] == ["b", "a"])
    }

    @Test(arguments: [
        "true", "no", "On", "null", "~", "80", "0x1F", "1e3", ".inf", "", " leading", "trailing ", "a: b", "a #b",
        "#comment", "- item", "[x]", "{y}", "*alias", "&anchor", "!tag", "|", ">", "'q'", "\"q\"", "multi\nline",
        "tab\there", "é", "2026-11-27", "$(_pod_sa).$(_pod_ns)", "10.0.0.0/8,fd00::/8", "8080:/healthz", "@at",
        "%pct", "key:", "a:b", "ok",
    ])
    func emittedStringsReadBackAsTheSameString(_ s: String) throws {
        let value: JSONValue = ["k": .string(s), .init(stringLiteral: s.isEmpty ? "empty" : s): 1]
        let back = try JSONValue.parseYAML(value.yamlText)
        #expect(back == value, "\(value.yamlText)")
    }

    @Test func nestedStructuresRoundTrip() throws {
        let value = try JSONValue.parse(
            #"{"a":[{"b":1,"c":[{"d":[]},{}]},[1,[2,3]],"x"],"e":{},"f":{"g":{"h":-7}},"i":[[]],"n":[1e-7,1e20,0.1,-2.5]}"#
        )
        #expect(try JSONValue.parseYAML(value.yamlText) == value)
    }

    @Test func aDocumentThatIsNotYAMLIsAnError() {
        #expect(throws: YAMLBridgeError.self) { try JSONValue.parseYAML("a: [1, 2\nb: }") }
    }
}

@Suite struct ManifestStreamTests {
    @Test(arguments: [
        "",
        "a: 1\n",
        "---\na: 1\n",
        "a: 1\n---\nb: 2\n",
        "# lead\n---\na: 1\n--- # comment\nb: 2\n...\n---\n",
        "a: |\n  --- not a marker\n  text\n---\nb: 2",
        "---\n---\n",
        "a: 1\r\n---\r\nb: 2\r\n",
    ])
    func joiningTheDocumentsGivesTheTextBack(_ text: String) {
        #expect(ManifestStream(splitting: text).text == text)
    }

    @Test func documentsAreSplitAtMarkerLinesOnly() {
        let stream = ManifestStream(splitting: "a: 1\n---\nb: \"---\"\n--- # c\nc: 3\n")
        #expect(stream.documents.map(\.text) == ["a: 1\n", "\nb: \"---\"\n", " # c\nc: 3\n"])
        #expect(stream.documents.map(\.marker) == ["", "---", "---"])
    }
}
