"""scripts/bench-scale: many connections through linked gateways in network namespaces (issue 15
§5). cli (main), options, netns (the namespaces), cluster (PKI, configs, processes), client (the
load client run inside east), phases (one io backend's run), stats, report."""
