/// Durations written as Go and `step` write them: `300ms`, `90s`, `15m`, `24h`, `8760h`, `1h30m`.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        var total: Duration = .zero
        var number = ""
        var unit = ""
        var sawAny = false
        func flush() -> Bool {
            guard let value = Int64(number), value >= 0 else { return false }
            switch unit {
            case "ms": total += .milliseconds(value)
            case "s": total += .seconds(value)
            case "m": total += .seconds(value * 60)
            case "h": total += .seconds(value * 3600)
            case "d": total += .seconds(value * 86_400)
            default: return false
            }
            number = ""
            unit = ""
            sawAny = true
            return true
        }
        for character in text {
            if character.isASCII && character.isNumber {
                if !unit.isEmpty {
                    guard flush() else { return nil }
                }
                number.append(character)
            } else if character.isLetter {
                guard !number.isEmpty else { return nil }
                unit.append(character)
            } else {
                return nil
            }
        }
        guard !number.isEmpty, flush() else { return nil }
        return sawAny ? total : nil
    }

    /// Formats a duration compactly: `24h`, `1h30m`, `45s`.
    public static func format(_ duration: Duration) -> String {
        var seconds = duration.components.seconds
        if seconds == 0 { return "0s" }
        var out = ""
        let negative = seconds < 0
        seconds = abs(seconds)
        let days = seconds / 86_400
        let hours = (seconds % 86_400) / 3600
        let minutes = (seconds % 3600) / 60
        let secs = seconds % 60
        if days > 0 { out += "\(days)d" }
        if hours > 0 { out += "\(hours)h" }
        if minutes > 0 { out += "\(minutes)m" }
        if secs > 0 && days == 0 { out += "\(secs)s" }
        return (negative ? "-" : "") + out
    }
}
