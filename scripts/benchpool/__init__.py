"""scripts/bench-pool: time to first byte through a mirrored route over a delayed link, with and
without the warm pool (issue 15 §3). cli (main), options, modes (one mode's run), client (the
timing client run inside east), report, tunlink and delayline (the TUN delay line used when the
kernel has no sch_netem). The namespaces, configs and processes are bench-scale's
(scripts/benchscale: netns, cluster, stats)."""
