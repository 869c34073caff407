"""MinIO, built from source by `artconf tools install` (MinIO publishes source only).

Checks SigV4 signatures and offers STS AssumeRole, which needs a non-root user: one is created
with a read-write policy through MinIO's admin API after the server is ready. A static KMS key
is configured so SSE-S3 and SSE-KMS work.

Binding: besides `--address 127.0.0.1:P`, MinIO always listens on every loopback address of
the machine on the same port (`getServerListenAddrs` in its cmd/server-main.go adds ::1), with
no switch to turn that off. Both are loopback; nothing is reachable from outside.
"""

from __future__ import annotations

import base64
import hashlib
import shutil

import urllib3
from minio.credentials import StaticProvider
from minio.minioadmin import MinioAdmin

from emulators import tools
from emulators.launcher import Command, free_port
from emulators.server import Instance, Server, probe_get, random_secret

USER_POLICY = "artconf-readwrite"
KMS_KEY_ID = "artconf-key"  # the one static KMS key (MINIO_KMS_SECRET_KEY names it)
_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}],
}


class MinIO(Server):
    kind = "minio"
    tool = "minio"
    profile = "minio"
    kms_key_id = KMS_KEY_ID
    #: What a web identity token must claim: MinIO's claim-based OpenID mode maps the `policy`
    #: claim to the policy of the credentials it issues (here its built-in `readwrite`).
    openid_claims = {"policy": "readwrite"}

    def settings_env(
        self,
        *,
        region: str | None = None,
        virtual_host_domain: str | None = None,
        openid_config_url: str | None = None,
        openid_client_id: str = "",
    ) -> dict[str, str]:
        """The environment that starts MinIO with these settings (for a private server):
        its site region, the domain under which `<bucket>.<domain>` is a virtual host, an
        OpenID provider (discovery URL, client id) for AssumeRoleWithWebIdentity."""
        env = {}
        if region:
            env["MINIO_SITE_REGION"] = region
        if virtual_host_domain:
            env["MINIO_DOMAIN"] = virtual_host_domain
        if openid_config_url:
            env["MINIO_IDENTITY_OPENID_CONFIG_URL"] = openid_config_url
            env["MINIO_IDENTITY_OPENID_CLIENT_ID"] = openid_client_id
            env["MINIO_IDENTITY_OPENID_CLAIM_NAME"] = next(iter(self.openid_claims))
        return env

    def credentials(self) -> dict[str, str]:
        return {
            "access_key": "artconf-root",
            "secret_key": random_secret(),
            "user_access_key": "artconf-user",
            "user_secret_key": random_secret(),
        }

    def command(self, instance: Instance, port: int) -> Command:
        data = instance.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        argv = [
            str(tools.binary("minio")),
            "server",
            str(data),
            "--address",
            f"127.0.0.1:{port}",
            "--console-address",
            f"127.0.0.1:{free_port()}",
        ]
        if instance.tls:
            certs = instance.workdir / "certs"
            (certs / "CAs").mkdir(parents=True, exist_ok=True)
            shutil.copy(instance.tls.server_cert, certs / "public.crt")
            shutil.copy(instance.tls.server_key, certs / "private.key")
            shutil.copy(instance.tls.ca_cert, certs / "CAs" / "ca.crt")
            argv += ["--certs-dir", str(certs)]
        # A KMS key derived from the session secret: stable for this start, never logged.
        kms_key = hashlib.sha256(instance.credentials["secret_key"].encode()).digest()
        env = {
            "MINIO_ROOT_USER": instance.credentials["access_key"],
            "MINIO_ROOT_PASSWORD": instance.credentials["secret_key"],
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            "MINIO_KMS_SECRET_KEY": f"{KMS_KEY_ID}:" + base64.b64encode(kms_key).decode(),
            "HOME": str(instance.workdir),
        }
        return Command(argv, env)

    def probe(self, instance: Instance, port: int) -> bool:
        response = probe_get(instance, port, "/minio/health/ready")
        return response.status_code == 200 and response.headers.get("Server") == "MinIO"

    def after_ready(self, instance: Instance, port: int) -> None:
        creds = instance.credentials
        http = urllib3.PoolManager(
            ca_certs=str(instance.tls.ca_cert) if instance.tls else None,
            retries=urllib3.Retry(total=2, backoff_factor=0.2),
        )
        admin = MinioAdmin(
            endpoint=f"127.0.0.1:{port}",
            credentials=StaticProvider(creds["access_key"], creds["secret_key"]),
            secure=instance.tls is not None,
            http_client=http,
        )
        admin.user_add(creds["user_access_key"], creds["user_secret_key"])
        admin.policy_add(USER_POLICY, policy=_POLICY)
        admin.attach_policy([USER_POLICY], user=creds["user_access_key"])

    def version(self) -> str:
        return tools.version("minio")
