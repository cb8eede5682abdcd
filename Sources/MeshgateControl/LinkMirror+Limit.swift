extension LinkMirror {
    /// Counts refused services, shows them as the link's last error, and logs the first time
    /// (until a snapshot fits again).
    func noteServicesRefused(_ count: Int, sample: [String]) {
        guard count > 0 else { return }
        let limit = settings.maxServices
        let some = sample.joined(separator: ", ") + (count > sample.count ? ", …" : "")
        let message =
            "more than \(limit) services (links limits.services): \(count) new service(s) refused (\(some)); the services it has keep their place"
        recordHealth { $0.refusedServices += count }
        recordError(message)
        if !servicesLimitLogged {
            logger.warning("link \(cluster): \(message); further refusals are counted, not logged")
            servicesLimitLogged = true
        }
    }
}
