"""A throwaway CA and a server certificate for 127.0.0.1, made with Debian's ``openssl``: the servers the suite
starts (slapd, an SMTP server) speak real TLS, checked against that CA."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def make_certificates(root: Path, ca_file: Path, cert_file: Path, key_file: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is not installed")
    ca_key = root / "ca.key"
    csr = root / "server.csr"
    extensions = root / "server.ext"
    extensions.write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        [openssl, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca_file, "-days", "30",
         "-subj", "/O=dorms tests/CN=dorms test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req", "-new", *ec, "-keyout", key_file, "-out", csr,
         "-subj", "/O=dorms tests/CN=127.0.0.1"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca_file, "-CAkey", ca_key,
         "-CAcreateserial", "-out", cert_file, "-days", "30", "-extfile", extensions],
    ]
    for command in commands:
        result = subprocess.run([str(part) for part in command], check=False, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{result.stderr}")
