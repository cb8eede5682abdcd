import Testing

@testable import MeshgateKube

@Suite struct KubeLabelSelectorTests {
    private func parse(_ text: String) throws -> KubeLabelSelector { try KubeLabelSelector.parse(text) }

    @Test func equalityForms() throws {
        let s = try parse("app=redis, tier==cache,env!=prod")
        #expect(s.description == "app=redis,env!=prod,tier=cache")
        #expect(s.matches(["app": "redis", "tier": "cache"]))
        #expect(s.matches(["app": "redis", "tier": "cache", "env": "dev"]))
        #expect(!s.matches(["app": "redis", "tier": "cache", "env": "prod"]))
        #expect(!s.matches(["app": "redis"]))
    }

    @Test func setForms() throws {
        let s = try parse("env in (prod, dev),tier notin (web),mirror.linkerd.io/exported,!legacy")
        #expect(s.description == "env in (dev,prod),!legacy,mirror.linkerd.io/exported,tier notin (web)")
        #expect(s.matches(["env": "dev", "mirror.linkerd.io/exported": "true"]))
        #expect(!s.matches(["env": "test", "mirror.linkerd.io/exported": "true"]))
        #expect(!s.matches(["env": "dev", "mirror.linkerd.io/exported": "true", "tier": "web"]))
        #expect(!s.matches(["env": "dev", "mirror.linkerd.io/exported": "true", "legacy": ""]))
        #expect(!s.matches(["env": "dev"]))
    }

    @Test func canonicalTextParsesToTheSameSelector() throws {
        let s = try parse("b notin (y,x), a in (z), !c, d, e=, f!=g")
        #expect(try parse(s.description) == s)
        #expect(s.description == "a in (z),b notin (x,y),!c,d,e=,f!=g")
    }

    @Test func emptySelectorMatchesEverything() throws {
        let s = try parse("   ")
        #expect(s.isEmpty)
        #expect(s.description == "")
        #expect(s.matches([:]))
        #expect(s.matches(["a": "b"]))
    }

    @Test func matchingInitializer() {
        let s = KubeLabelSelector(matching: ["app": "meshgate-gateway", "zone": "a"])
        #expect(s.description == "app=meshgate-gateway,zone=a")
        #expect(s.matches(["app": "meshgate-gateway", "zone": "a", "x": "y"]))
        #expect(!s.matches(["app": "meshgate-gateway"]))
    }

    @Test(arguments: [
        ("a in (b", "expected \",\" or \")\" at 8"),
        ("a in ()", "a set needs at least one value at 7"),
        ("a in b", "expected \"(\" at 6"),
        ("a foo b", "expected \"=\", \"==\", \"!=\", \"in\" or \"notin\" at 3"),
        ("a=b c", "expected \",\" or the end at 5"),
        ("=b", "expected a label key at 1"),
        ("a,,b", "expected a label key at 3"),
        ("-a=b", "invalid key \"-a\""),
        ("a/b/c=d", "invalid key \"a/b/c\": at most one \"/\""),
        ("Bad_Prefix/a=b", "invalid key \"Bad_Prefix/a\": prefix must be a DNS subdomain"),
        ("a=-b", "invalid value \"-b\""),
        ("!a=b", "expected \",\" or the end at 3"),
    ])
    func errorsSayWhatAndWhere(text: String, fragment: String) {
        let error = #expect(throws: KubeSelectorError.self, "\(text) parsed") { try KubeLabelSelector.parse(text) }
        #expect(error?.message.contains("invalid label selector \"\(text)\"") == true)
        #expect(error?.message.contains(fragment) == true, "\(String(describing: error))")
    }

    @Test func longNamesAreRejected() {
        let long = String(repeating: "a", count: 64)
        #expect(throws: KubeSelectorError.self) { try KubeLabelSelector.parse("\(long)=b") }
        #expect(throws: KubeSelectorError.self) { try KubeLabelSelector.parse("a=\(long)") }
        #expect((try? KubeLabelSelector.parse("\(String(repeating: "a", count: 63))=b")) != nil)
    }
}
