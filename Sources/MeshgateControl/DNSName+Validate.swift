import MeshgateNames

extension DNSName {
    /// Checks a label and explains a failure (`labelProblem`) as a config value error.
    static func validateLabel(_ text: String) throws(InvalidValue) {
        if let problem = labelProblem(text) { throw InvalidValue(problem) }
    }
}
