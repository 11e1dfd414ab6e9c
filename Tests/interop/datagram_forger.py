"""Forges datagrams to a Skylark media port from live clients' own source addresses, as an off-path attacker
on the same network would: it watches the real traffic (the RTP/RTCP headers are in the clear) and then floods
the server with SRTP/SRTCP carrying the clients' SSRCs and garbage tags, DTLS records, ClientHellos, STUN checks
with a wrong MESSAGE-INTEGRITY or a broken FINGERPRINT, and garbage, all with forged UDP source ports.

Needs raw sockets (root in the test's network namespace). Run as a separate process so the flood does not
compete with the clients' event loop for the interpreter:

    python datagram_forger.py '{"server_port": 8189, "seconds": 6, "rate": 20000,
                                "targets": [{"name": "viewer", "port": 50000, "client_ufrag": "...",
                                             "server_ufrag": "...", "server_password": "..."}]}'

Prints one JSON line: datagrams sent per target and kind.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import socket
import struct
import sys
import time
import zlib

from OpenSSL import SSL

LOOPBACK = "127.0.0.1"
ETH_P_ALL = 0x0003
STUN_MAGIC = 0x2112A442


def sniff(server_port: int, ports: set[int], seconds: float) -> dict[int, dict[str, bytes]]:
    """Real SRTP and SRTCP packets each client port sent to the server, the newest of each kind."""
    seen: dict[int, dict[str, bytes]] = {port: {} for port in ports}
    capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    capture.bind(("lo", 0))
    capture.settimeout(0.2)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                frame = capture.recv(65_535)
            except socket.timeout:
                continue
            ip = frame[14:]  # loopback frames carry an all-zero Ethernet header
            if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
                continue
            header_length = (ip[0] & 0x0F) * 4
            source, destination = struct.unpack("!HH", ip[header_length:header_length + 4])
            payload = ip[header_length + 8:]
            if destination != server_port or source not in ports or len(payload) < 12:
                continue
            if not 128 <= payload[0] <= 191:
                continue
            kind = "rtcp" if 64 <= (payload[1] & 0x7F) <= 95 else "rtp"
            seen[source][kind] = payload
            # Every client sends RTCP (reports), publishers RTP too.
            if all("rtcp" in kinds for kinds in seen.values()) and any("rtp" in kinds for kinds in seen.values()):
                break
    finally:
        capture.close()
    return seen


def client_hello() -> bytes:
    """A real DTLS 1.2 ClientHello from another OpenSSL endpoint."""
    connection = SSL.Connection(SSL.Context(SSL.DTLS_METHOD), None)
    connection.set_connect_state()
    try:
        connection.do_handshake()
    except SSL.WantReadError:
        pass
    return connection.bio_read(65_535)


def stun_check(username: str, key: bytes, break_fingerprint: bool) -> bytes:
    """A Binding request with USE-CANDIDATE, as a controlling client's nomination (RFC 8445 §7.2.2)."""

    def attribute(kind: int, value: bytes) -> bytes:
        return struct.pack("!HH", kind, len(value)) + value + b"\x00" * (-len(value) % 4)

    body = attribute(0x0006, username.encode())
    body += attribute(0x0024, struct.pack("!I", 0x6E0001FF))          # PRIORITY
    body += attribute(0x802A, os.urandom(8))                         # ICE-CONTROLLING
    body += attribute(0x0025, b"")                                   # USE-CANDIDATE
    transaction = os.urandom(12)
    # MESSAGE-INTEGRITY covers the header with the length up to and including itself (RFC 8489 §14.5).
    header = struct.pack("!HHI", 0x0001, len(body) + 24, STUN_MAGIC) + transaction
    body += attribute(0x0008, hmac.new(key, header + body, hashlib.sha1).digest())
    header = struct.pack("!HHI", 0x0001, len(body) + 8, STUN_MAGIC) + transaction
    crc = (zlib.crc32(header + body) ^ 0x5354554E) & 0xFFFFFFFF
    if break_fingerprint:
        crc ^= 0x1
    return header + body + attribute(0x8028, struct.pack("!I", crc))


def dtls_record(content_type: int, epoch: int, body: bytes, version: int = 0xFEFD) -> bytes:
    sequence = random.getrandbits(48)
    return struct.pack("!BHH", content_type, version, epoch) + sequence.to_bytes(6, "big") + \
        struct.pack("!H", len(body)) + body


def forged_srtp(real: bytes) -> bytes:
    """The real packet with its index moved ahead and a garbage tag (RFC 3711 §3.3: must fail and change
    nothing, the rollover counter included)."""
    packet = bytearray(real)
    if 64 <= (packet[1] & 0x7F) <= 95:
        # SRTCP: the E flag, index and tag make the last 14 (RFC 3711 §3.4) or 20 bytes (RFC 7714 §9.1).
        packet[-20:] = os.urandom(20)
    else:
        sequence = (int.from_bytes(packet[2:4], "big") + random.choice([1, 2, 50, 3_000, 30_000])) & 0xFFFF
        packet[2:4] = sequence.to_bytes(2, "big")
        packet[-16:] = os.urandom(16)
    return bytes(packet)


def forged_rtcp(ssrc: bytes) -> bytes:
    """An SRTCP sender report with the client's SSRC, an index and a garbage tag."""
    return bytes([0x80, 200, 0, 6]) + ssrc + os.urandom(20) + bytes([0x80]) + os.urandom(3) + os.urandom(16)


def garbage() -> bytes:
    data = bytearray(os.urandom(random.randrange(1, 1_200)))
    data[0] = random.choice([random.randrange(0, 4), random.randrange(4, 20), random.randrange(20, 64),
                             random.randrange(64, 128), random.randrange(128, 192), random.randrange(192, 256)])
    return bytes(data)


def udp_packet(source_port: int, destination_port: int, payload: bytes) -> bytes:
    """IPv4 + UDP with a forged source port; the kernel fills the IP checksum and id (raw(7)); UDP checksum 0."""
    length = 20 + 8 + len(payload)
    address = socket.inet_aton(LOOPBACK)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 0, 0, 64, socket.IPPROTO_UDP, 0, address, address)
    return ip + struct.pack("!HHHH", source_port, destination_port, 8 + len(payload), 0) + payload


def main() -> int:
    plan = json.loads(sys.argv[1])
    server_port = plan["server_port"]
    targets = plan["targets"]
    ports = {target["port"] for target in targets}
    real = sniff(server_port, ports, plan.get("sniff_seconds", 8))
    missing = [t["name"] for t in targets if not real[t["port"]]]
    if missing:
        print(json.dumps({"error": f"saw no SRTP/SRTCP from {missing}"}), flush=True)
        return 1
    hello = client_hello()
    makers: list[tuple[str, str, int, object]] = []
    for target in targets:
        port, name, packets = target["port"], target["name"], real[target["port"]]
        username = f"{target['server_ufrag']}:{target['client_ufrag']}"
        ssrc = packets["rtp"][8:12] if "rtp" in packets else packets["rtcp"][4:8]
        kinds = {
            "dtls_15_byte_record": lambda: bytes.fromhex("17fefd00010000000000070002 0200".replace(" ", "")),
            "dtls_random_epoch_1": lambda: dtls_record(23, 1, os.urandom(random.randrange(1, 300))),
            "dtls_plaintext_alert": lambda: dtls_record(21, 0, bytes([2, random.choice([0, 10, 20, 40, 80])])),
            "dtls_epoch_1_alert": lambda: dtls_record(21, 1, bytes([2, 0])),
            "dtls_client_hello": lambda: hello,
            "stun_wrong_integrity": lambda: stun_check(username, os.urandom(16).hex().encode(), False),
            "stun_broken_fingerprint": lambda: stun_check(username, target["server_password"].encode(), True),
            "srtcp_forged_report": lambda: forged_rtcp(ssrc),
            "garbage": garbage,
        }
        for kind, sample in packets.items():
            kinds[f"s{kind}_real_ssrc"] = (lambda sample=sample: forged_srtp(sample))
        for kind, make in kinds.items():
            makers.append((name, kind, port, make))
    stray_port = max(ports) + 7
    makers.append(("no_session", "garbage", stray_port, garbage))
    makers.append(("no_session", "dtls_random_epoch_1", stray_port, lambda: dtls_record(23, 1, os.urandom(64))))

    sender = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent: dict[str, dict[str, int]] = {}
    rate = plan.get("rate", 20_000)
    start = time.monotonic()
    stop = start + plan["seconds"]
    total = 0
    while (now := time.monotonic()) < stop:
        # Pace to `rate`: send what is due, then yield the CPU for a moment.
        due = int((now - start) * rate) - total
        for _ in range(min(due, 500)):
            name, kind, port, make = makers[total % len(makers)]
            try:
                sender.sendto(udp_packet(port, server_port, make()), (LOOPBACK, 0))
            except OSError:
                continue  # a full socket buffer is part of a flood
            finally:
                total += 1
            sent.setdefault(name, {}).setdefault(kind, 0)
            sent[name][kind] += 1
        time.sleep(0.002)
    print(json.dumps({"sent": sent, "total": total, "seconds": time.monotonic() - start}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
