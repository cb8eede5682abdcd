import Testing

@testable import MeshgateKube

@Suite struct KubeWatchDecodingTests {
    @Test func linesSplitAcrossChunks() throws {
        var splitter = KubeWatchLineSplitter()
        let text = Array("{\"a\":1}\n\n{\"b\":2}\r\n{\"c\"".utf8)
        var lines: [String] = []
        for chunk in [text[0..<3], text[3..<9], text[9...]] {
            lines += try splitter.append(chunk).map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(lines == ["{\"a\":1}", "{\"b\":2}"])
        lines += try splitter.append(Array(":3}\n{\"d\":4}".utf8)).map { String(decoding: $0, as: UTF8.self) }
        #expect(lines == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
        #expect(splitter.finish().map { String(decoding: $0, as: UTF8.self) } == "{\"d\":4}")
        #expect(splitter.finish() == nil)
    }

    @Test func overlongLineIsADecodingError() {
        var splitter = KubeWatchLineSplitter(maxLine: 8)
        #expect(throws: KubeError(code: nil, reason: "Decoding", message: "watch event longer than 8 bytes")) {
            _ = try splitter.append(Array("0123456789".utf8))
        }
    }

    private func event(_ line: String) throws(KubeError) -> KubeWatchEvent<KubeService> {
        try KubeWatchDecoder.event(KubeService.self, line: Array(line.utf8))
    }

    @Test func decodesEachEventType() throws {
        let object = #"{"metadata":{"name":"a","namespace":"n","resourceVersion":"7"},"spec":{}}"#
        guard case .added(let a) = try event(#"{"type":"ADDED","object":\#(object)}"#) else {
            Issue.record("not ADDED")
            return
        }
        #expect(a.metadata.key == "n/a")
        guard case .modified = try event(#"{"type":"MODIFIED","object":\#(object)}"#),
            case .deleted = try event(#"{"type":"DELETED","object":\#(object)}"#)
        else {
            Issue.record("not MODIFIED/DELETED")
            return
        }
        let bookmark = try event(#"{"type":"BOOKMARK","object":{"kind":"Service","metadata":{"resourceVersion":"99"}}}"#)
        #expect(bookmark.resourceVersion == "99")
    }

    @Test func errorEventCarriesTheStatus() {
        let line =
            #"{"type":"ERROR","object":{"kind":"Status","status":"Failure","message":"too old resource version: 5 (9)","reason":"Expired","code":410}}"#
        do {
            _ = try event(line)
            Issue.record("no error")
        } catch {
            #expect(error.isGone)
            #expect(error.reason == "Expired")
            #expect(error.message == "too old resource version: 5 (9)")
        }
    }

    @Test(arguments: [
        "not json", #"{"object":{}}"#, #"{"type":"ADDED","object":{"spec":{}}}"#, #"{"type":"WHAT","object":{}}"#,
        #"{"type":"BOOKMARK","object":{"metadata":{}}}"#, #"{"type":"ADDED","object":{"metadata":{"name":1}}}"#,
    ])
    func garbageIsADecodingError(line: String) {
        do {
            _ = try event(line)
            Issue.record("decoded \(line)")
        } catch {
            #expect(error.reason == "Decoding")
            #expect(error.code == nil)
        }
    }
}
