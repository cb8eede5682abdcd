import MeshgateNames
import Testing

/// The JSON string quoting the load harness, the route benchmark and `meshgate install` share.
@Suite struct JSONStringTests {
    @Test(arguments: [
        ("plain", #""plain""#), ("", #""""#), ("a\"b", #""a\"b""#), ("back\\slash", #""back\\slash""#),
        ("l1\nl2", #""l1\nl2""#), ("cr\r", #""cr\r""#), ("t\tab", #""t\tab""#), ("\u{01}\u{1f}", #""\u0001\u001f""#),
        ("µs ✓", #""µs ✓""#),
    ])
    func quotes(text: String, expected: String) {
        #expect(JSONString.quoted(text) == expected)
    }
}
