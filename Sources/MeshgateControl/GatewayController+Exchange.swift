extension GatewayController {
    /// Puts `new` into a `lock`-guarded slot and returns what the slot held, in one step under
    /// `lock`; the caller stops or cancels the old value after, outside the lock.
    func exchangeLocked<Value>(_ slot: ReferenceWritableKeyPath<GatewayController, Value?>, with new: Value? = nil) -> Value? {
        lock.withLock {
            let old = self[keyPath: slot]
            self[keyPath: slot] = new
            return old
        }
    }
}
