"""HTTPS through the guard: the connection is pinned to the checked IP while SNI and certificate checks use the name."""

import datetime as dt
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from handlers.interlock import netguard


def _certificate(common_name, issuer_key, issuer_name, key, *, ca):
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
    else:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_server(tmp_path):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test ca")])
    ca_cert = _certificate("test ca", ca_key, ca_name, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate("jobs.internal.test", ca_key, ca_name, key, ca=False)
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    sni_names = []
    server_context.sni_callback = lambda sock, name, ctx: sni_names.append(name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode())
    yield httpd.server_address[1], client_context, seen, sni_names
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def resolve_to_loopback(monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))],
    )


def test_https_uses_the_name_for_sni_and_verification(tls_server, allow_loopback, resolve_to_loopback, monkeypatch):
    port, context, seen, sni_names = tls_server
    monkeypatch.setattr(netguard, "_tls_context", lambda: context)
    response = netguard.request("GET", f"https://jobs.internal.test:{port}/health", timeout=3)
    assert (response.status, response.body) == (200, b"ok")
    assert sni_names == ["jobs.internal.test"]
    assert seen == [f"jobs.internal.test:{port}"]


def test_a_certificate_for_another_name_is_rejected(tls_server, allow_loopback, resolve_to_loopback, monkeypatch):
    port, context, seen, _ = tls_server
    monkeypatch.setattr(netguard, "_tls_context", lambda: context)
    with pytest.raises(netguard.OutboundError, match="TLS error") as err:
        netguard.request("GET", f"https://other.internal.test:{port}/health", timeout=3)
    assert err.value.kind == "connection"
    assert seen == []


def test_an_untrusted_certificate_is_rejected_by_default(tls_server, allow_loopback, resolve_to_loopback):
    port, _, seen, _ = tls_server
    with pytest.raises(netguard.OutboundError, match="TLS error"):
        netguard.request("GET", f"https://jobs.internal.test:{port}/health", timeout=3)
    assert seen == []
