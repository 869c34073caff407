"""A private CA made per session, and a server certificate for localhost and 127.0.0.1.

Every TLS-capable server here accepts one PEM certificate and key; clients trust the CA file
explicitly (never through the CA environment variables, which point at the system bundle).
A second CA issues the client certificate a server checking clients (nginx-mtls) trusts: it is
not the server CA, so a certificate the server CA signed is refused as a client.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsMaterial:
    """Paths of the PEM files a TLS server and its clients need."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_ca_cert: Path  # the CA a server checking clients trusts
    client_cert: Path  # EKU clientAuth, issued by client_ca_cert
    client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "artifact-conformance"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.write_bytes(data)
    path.chmod(mode)


def _ca(common_name: str, now: dt.datetime, until: dt.datetime):
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(ca_key, ca_cert, common_name: str, usage, now: dt.datetime, until: dt.datetime, san=None):
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # MinIO wants "EC PRIVATE KEY"
        serialization.NoEncryption(),
    )


def make_tls_material(directory: Path, *, valid_days: int = 7) -> TlsMaterial:
    """Create the CAs, the server's and the client's certificates and keys in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # tolerate clock skew
    until = now + dt.timedelta(days=valid_days)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.DNSName("*.localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
    )
    ca_key, ca_cert = _ca("artifact-conformance test CA", now, until)
    key, cert = _leaf(
        ca_key, ca_cert, "localhost", ExtendedKeyUsageOID.SERVER_AUTH, now, until, san
    )
    client_ca_key, client_ca = _ca("artifact-conformance client CA", now, until)
    client_key, client_cert = _leaf(
        client_ca_key, client_ca, "artconf-client", ExtendedKeyUsageOID.CLIENT_AUTH, now, until
    )
    material = TlsMaterial(
        ca_cert=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_ca_cert=directory / "client-ca.pem",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )
    pem = serialization.Encoding.PEM
    _write(material.ca_cert, ca_cert.public_bytes(pem))
    _write(material.server_cert, cert.public_bytes(pem))
    _write(material.server_key, _pem_key(key), mode=0o600)
    _write(material.client_ca_cert, client_ca.public_bytes(pem))
    _write(material.client_cert, client_cert.public_bytes(pem))
    _write(material.client_key, _pem_key(client_key), mode=0o600)
    return material
