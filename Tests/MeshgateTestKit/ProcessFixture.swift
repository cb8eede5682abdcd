/// Builds a fixture once per test process and keeps how it went, so every test that asks gets
/// the same fixture, or the same error, without building it again.
public enum ProcessFixture {
    /// Runs `make` and keeps its value, or its error as a `TestFailure`.
    public static func make<T>(_ make: () throws -> T) -> Result<T, TestFailure> {
        do { return .success(try make()) } catch let e as TestFailure { return .failure(e) } catch {
            return .failure(TestFailure("\(error)"))
        }
    }
}
