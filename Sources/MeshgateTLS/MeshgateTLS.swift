// The TLS engine is being written; see docs/architecture.md.
