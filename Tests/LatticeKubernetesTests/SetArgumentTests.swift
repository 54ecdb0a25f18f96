import LatticeManifests
import Testing

@Suite struct SetArgumentTests {
    func apply(_ arguments: [String], kind: SetArgument.Kind = .typed) throws -> ValueTree {
        var tree = ValueTree.emptyObject
        for argument in arguments {
            for assignment in try SetArgument.parse(argument, kind: kind, readFile: { path in "content of \(path)" }) {
                var overlay = ValueTree.emptyObject
                overlay.set(assignment.value, at: assignment.path)
                tree = tree.merged(with: overlay)
            }
        }
        return tree
    }

    @Test func typesValuesAsHelmDoes() throws {
        let tree = try self.apply(["a=true,b=False,c=42,d=042,e=1.5,f=-7,g=text,h=0"])
        #expect(tree == ["a": true, "b": false, "c": 42, "d": "042", "e": "1.5", "f": .int(-7), "g": "text", "h": 0])
    }

    @Test func setStringKeepsStrings() throws {
        #expect(try self.apply(["a=true,b=42"], kind: .string) == ["a": "true", "b": "42"])
    }

    @Test func dottedPathsNestAndEscapedDotsDoNot() throws {
        let tree = try self.apply(["proxy.resources.requests.memory=64Mi", #"selectors.aden.app\.kubernetes\.io/name=aden"#])
        #expect(tree.value(at: ["proxy", "resources", "requests", "memory"]) == "64Mi")
        #expect(tree.value(at: ["selectors", "aden", "app.kubernetes.io/name"]) == "aden")
    }

    @Test func listsIndexesAndEscapedCommas() throws {
        let tree = try self.apply([#"a={x,y},b[1]=second,c=one\,two"#, "d[0].key=k"])
        #expect(tree["a"] == ["x", "y"])
        #expect(tree["b"] == [nil, "second"])
        #expect(tree["c"] == "one,two")
        #expect(tree["d"] == [["key": "k"]])
    }

    @Test func nullDeletesAKey() throws {
        let base: ValueTree = ["a": ["b": 1, "c": 2]]
        var overlay = ValueTree.emptyObject
        overlay.set(SetArgument.typed("null"), at: [.key("a"), .key("b")])
        #expect(base.merged(with: overlay) == ["a": ["c": 2]])
    }

    @Test func setFileReadsTheFile() throws {
        #expect(try self.apply(["identityTrustAnchorsPEM=ca.crt"], kind: .file) == ["identityTrustAnchorsPEM": "content of ca.crt"])
    }

    @Test(arguments: ["novalue", "a..b=1", "a[x]=1", "a={x,y=1", "=1"])
    func malformedArgumentsAreRefusedWithTheArgument(_ argument: String) {
        #expect(throws: ManifestsError(.invalidSet, "")) { try SetArgument.parse(argument, kind: .typed) }
    }
}
