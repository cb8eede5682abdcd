"""Configuration files of the peers: HAProxy (plain proxy and both chain sides) and Envoy (both
chain sides). Only limits are raised; everything else keeps each proxy's defaults."""

import textwrap


def haproxy_maxconn(connections):
    """HAProxy's maxconn for a run holding `connections` idle connections (at least 8000)."""
    return max(connections + 2000, 8000)


def haproxy_head(nbthread, maxconn, splice, stats_socket=None, cpus=None):
    """The global and defaults sections, as lines; `cpus` (one per thread) pins thread i to cpus[i]."""
    lines = ["global", f"    nbthread {nbthread}", f"    maxconn {maxconn}"]
    if cpus:
        lines.append(haproxy_cpu_map(cpus))
    if stats_socket:
        lines.append(f"    stats socket {stats_socket} mode 600 level admin")
    lines += ["defaults", "    mode tcp", f"    maxconn {maxconn}", "    timeout connect 5s",
              "    timeout client 10m", "    timeout server 10m", "    timeout client-fin 30s",
              "    timeout server-fin 30s"]
    if splice:
        lines.append("    option splice-auto")
    return lines


def haproxy_cpu_map(cpus):
    """HAProxy 2.6's `cpu-map auto:1/1-N CPUS`: thread i (from 1) on the i-th lowest of `cpus`."""
    cpus = sorted(cpus)
    contiguous = cpus == list(range(cpus[0], cpus[0] + len(cpus)))
    listed = f"{cpus[0]}-{cpus[-1]}" if contiguous else " ".join(map(str, cpus))
    return f"    cpu-map auto:1/1-{len(cpus)} {listed}"


def haproxy_plain(nbthread, maxconn, splice, listen_port, upstream_port, cpus=None):
    """A plain `mode tcp` proxy 127.0.0.1:listen_port → 127.0.0.1:upstream_port; `cpus` pins its threads."""
    return "\n".join(haproxy_head(nbthread, maxconn, splice, cpus=cpus) + [
        "frontend bench_in",
        f"    bind 127.0.0.1:{listen_port}",
        "    default_backend bench_out",
        "backend bench_out",
        f"    server upstream 127.0.0.1:{upstream_port}",
    ]) + "\n"


def haproxy_terminating(nbthread, maxconn, splice, stats_socket, listen_port, upstream_port, pki):
    """The chain's terminating side: mTLS listener requiring the west identity, plain upstream."""
    return "\n".join(haproxy_head(nbthread, maxconn, splice, stats_socket) + [
        "frontend mtls_in",
        f"    bind 127.0.0.1:{listen_port} ssl crt {pki.dir}/east-haproxy.pem ca-file {pki.dir}/bundle.pem"
        " verify required alpn meshgate/1 ssl-min-ver TLSv1.3 curves X25519",
        # The allowed client identity (meshgate: --allow-identity); test-pki puts it in the CN too.
        f"    tcp-request session reject unless {{ ssl_c_s_dn(CN) -m str {pki.west_identity} }}",
        "    default_backend plain_out",
        "backend plain_out",
        f"    server backend 127.0.0.1:{upstream_port}",
    ]) + "\n"


def haproxy_originating(nbthread, maxconn, splice, stats_socket, listen_port, upstream_port, pki, full):
    """The chain's originating side: plain listener, mTLS upstream expecting the east identity;
    `full` turns session reuse off."""
    # HAProxy 2.6 has no `curves` on server lines; OpenSSL 3's client default offers X25519 first.
    server = (f"    server terminating 127.0.0.1:{upstream_port} ssl crt {pki.dir}/west-haproxy.pem"
              f" ca-file {pki.dir}/bundle.pem verify required verifyhost {pki.east_identity}"
              " alpn meshgate/1 ssl-min-ver TLSv1.3" + (" no-ssl-reuse" if full else ""))
    return "\n".join(haproxy_head(nbthread, maxconn, splice, stats_socket) + [
        "frontend plain_in",
        f"    bind 127.0.0.1:{listen_port}",
        "    default_backend mtls_out",
        "backend mtls_out",
        server,
    ]) + "\n"


TLS_PARAMS = ('tls_params: { tls_minimum_protocol_version: TLSv1_3, tls_maximum_protocol_version: TLSv1_3,'
              ' ecdh_curves: ["X25519"] }')


def envoy(role, listen_port, upstream_port, admin_port, full, pki):
    """Envoy configuration of one chain side. role: originating (plain listener, mTLS cluster) or
    terminating (mTLS listener, plain cluster). Circuit breakers are raised from their
    1024-connection default so that chain-idle can hold its connections (HAProxy's maxconn is
    raised the same way); `full` turns upstream session resumption off."""
    text = f"""admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: {admin_port} }} }}
static_resources:
  listeners:
  - name: {role}_in
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: {listen_port} }} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: {role}
          cluster: {role}_out
"""
    if role == "terminating":
        text += f"""      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
"""
        text += _common_tls_context(pki, "east", pki.west_identity, indent=10)
    text += f"""  clusters:
  - name: {role}_out
    type: STATIC
    connect_timeout: 5s
    circuit_breakers:
      thresholds:
      - {{ max_connections: 100000, max_pending_requests: 100000, max_requests: 100000 }}
    load_assignment:
      cluster_name: {role}_out
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {upstream_port} }} }} }}
"""
    if role == "originating":
        text += """    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
"""
        # Envoy caches one session per upstream by default; 0 turns resumption off.
        if full:
            text += "        max_session_keys: 0\n"
        text += _common_tls_context(pki, "west", pki.east_identity, indent=8)
    return text


def _common_tls_context(pki, name, peer_identity, indent):
    """Envoy's common_tls_context: this side's certificate NAME.pem/NAME.key, the bundle, and the
    peer's identity as the one subject alternative name accepted; INDENT spaces deep."""
    block = f"""common_tls_context:
  alpn_protocols: ["meshgate/1"]
  {TLS_PARAMS}
  tls_certificates:
  - certificate_chain: {{ filename: "{pki.dir}/{name}.pem" }}
    private_key: {{ filename: "{pki.dir}/{name}.key" }}
  validation_context:
    trusted_ca: {{ filename: "{pki.dir}/bundle.pem" }}
    match_typed_subject_alt_names:
    - san_type: DNS
      matcher: {{ exact: "{peer_identity}" }}
"""
    return textwrap.indent(block, " " * indent)
