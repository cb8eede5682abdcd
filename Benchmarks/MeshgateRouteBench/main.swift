#if canImport(Glibc)
import Glibc
#endif

// Probe connections may be reset by the gateway; never die of SIGPIPE.
signal(SIGPIPE, SIG_IGN)
RouteBench.main()
