/// A string as JSON text: the one quoting the tools that write JSON by hand share (the load
/// harness's results, the route benchmark's report, `meshgate install`'s manifests).
public enum JSONString {
    /// `s` in double quotes, with `"`, `\`, newline, carriage return and tab escaped by their short
    /// forms and every other control character as `\u00XX` (lowercase hex).
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
