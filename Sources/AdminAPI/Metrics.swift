import HTTP
import SFU
import Transport

/// `GET /metrics` in the Prometheus text exposition format (version 0.0.4).
public enum Metrics {
    public static func render(sfu: SFUMetrics, http: HTTPServerCounters) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { out += name + sample.labels + " " + sample.value + "\n" }
        }
        metric("skylark_sessions", "gauge", "Live WHIP and WHEP sessions.",
               [("{role=\"publisher\"}", String(sfu.publishers)), ("{role=\"viewer\"}", String(sfu.viewers))])
        metric("skylark_stream_viewers", "gauge", "Live viewers per stream.",
               sfu.viewersByStream.sorted { $0.key < $1.key }.map { ("{stream=\"\(escape($0.key))\"}", String($0.value)) })
        metric("skylark_packets_received_total", "counter", "RTP packets received from publishers.",
               [("", String(sfu.totals.packetsIn))])
        metric("skylark_bytes_received_total", "counter", "RTP bytes received from publishers.",
               [("", String(sfu.totals.bytesIn))])
        metric("skylark_packets_sent_total", "counter", "RTP packets sent to viewers.",
               [("", String(sfu.totals.packetsOut))])
        metric("skylark_bytes_sent_total", "counter", "RTP bytes sent to viewers.",
               [("", String(sfu.totals.bytesOut))])
        metric("skylark_packets_lost", "gauge", "Packets lost on live sessions (reported by viewers, counted for publishers).",
               [("", String(sfu.packetsLost))])
        metric("skylark_rejected_datagrams_total", "counter", "Datagrams dropped as garbage, unauthenticated or replayed.",
               [("", String(sfu.drops.total))])
        metric("skylark_dropped_datagrams_total", "counter",
               "Datagrams (DTLS: records) on the media port dropped without effect on any session, by reason.",
               DatagramDropReason.allCases.map { ("{reason=\"\($0.label)\"}", String(sfu.drops[$0])) })
        metric("skylark_dtls_handshake_failures_total", "counter", "DTLS handshakes that failed.",
               [("", String(sfu.dtlsFailures))])
        let classes = ["1xx", "2xx", "3xx", "4xx", "5xx"]
        metric("skylark_http_requests_total", "counter", "HTTP responses by status class.",
               classes.enumerated().map { ("{code=\"\($0.element)\"}", String(http.responses(class: $0.offset + 1))) })
        metric("skylark_http_connections", "gauge", "Open HTTP connections.", [("", String(http.connectionsOpen))])
        return out
    }

    /// Label values escape backslash, quote and newline.
    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
