#!/usr/bin/env python3
"""Writes the release's OCI image archive without a container daemon, reproducibly.

  oci.py --version V --revision SHA --source URL --amd64 BIN --arm64 BIN --out FILE.tar

The image: FROM scratch, the static binary at /usr/local/bin/eks-token with the names
aws, aws-iam-authenticator and argocd-k8s-auth beside it (links: the program name picks
the dialect), user 65532 (no shell, no passwd file: a numeric user), entrypoint
/usr/local/bin/eks-token. One image index for linux/amd64 and linux/arm64, named V in
the layout's index.json (org.opencontainers.image.ref.name), so that
`skopeo copy --all oci-archive:FILE docker://REGISTRY/eks-token:V` publishes both
(without --all, skopeo copies the host's platform only).

Labels (and the manifests' annotations): org.opencontainers.image.title, .version,
.licenses, .source (the repository), .revision (the commit), .created
(SOURCE_DATE_EPOCH).

Every timestamp is SOURCE_DATE_EPOCH (the commit's time), every owner root, entries in
a fixed order: the same binaries give the same archive, byte for byte.
"""
import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import tarfile

NAMES = ["aws", "aws-iam-authenticator", "argocd-k8s-auth"]
USER = "65532"
ENTRYPOINT = "/usr/local/bin/eks-token"


def epoch():
    return int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


def tar_bytes(entries):
    """A tar (ustar, root-owned, fixed mtime) of (name, kind, data_or_target, mode)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, kind, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = epoch()
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "link":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzipped(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


class Layout:
    """An OCI image layout being written: blobs by digest."""

    def __init__(self):
        self.blobs = {}

    def add(self, media_type, data, **extra):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return dict({"mediaType": media_type, "digest": digest, "size": len(data)}, **extra)


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def labels(a, created):
    """The image's labels, as the OCI image spec's annotations name them."""
    return {
        "org.opencontainers.image.title": "eks-token",
        "org.opencontainers.image.version": a.version,
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.source": a.source,
        "org.opencontainers.image.revision": a.revision,
        "org.opencontainers.image.created": created,
    }


def image(layout, binary, arch, variant, labels, created):
    with open(binary, "rb") as f:
        exe = f.read()
    layer = tar_bytes(
        [("usr", "dir", None, 0o755), ("usr/local", "dir", None, 0o755),
         ("usr/local/bin", "dir", None, 0o755),
         ("usr/local/bin/eks-token", "file", exe, 0o755)]
        + [(f"usr/local/bin/{n}", "link", "eks-token", 0o777) for n in NAMES]
    )
    config = {
        "architecture": arch,
        "os": "linux",
        "created": created,
        "config": {
            "User": USER,
            "Entrypoint": [ENTRYPOINT],
            "Env": ["PATH=/usr/local/bin"],
            "Labels": labels,
        },
        "rootfs": {"type": "layers",
                   "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
        "history": [{"created": created,
                     "created_by": "eks-token .ci/oci.py: the static binary and its names"}],
    }
    if variant:
        config["variant"] = variant
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": layout.add("application/vnd.oci.image.config.v1+json", canonical(config)),
        "layers": [layout.add("application/vnd.oci.image.layer.v1.tar+gzip", gzipped(layer))],
        "annotations": labels,
    }
    platform = {"architecture": arch, "os": "linux"}
    if variant:
        platform["variant"] = variant
    return layout.add("application/vnd.oci.image.manifest.v1+json", canonical(manifest),
                      platform=platform)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", required=True)
    p.add_argument("--revision", required=True, help="the commit (40 hex digits)")
    p.add_argument("--source", required=True, help="the repository's URL")
    p.add_argument("--amd64", required=True)
    p.add_argument("--arm64", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    created = datetime.datetime.fromtimestamp(epoch(), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    layout = Layout()
    manifests = [image(layout, a.amd64, "amd64", None, labels(a, created), created),
                 image(layout, a.arm64, "arm64", "v8", labels(a, created), created)]
    index = layout.add("application/vnd.oci.image.index.v1+json", canonical({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }), annotations={"org.opencontainers.image.ref.name": a.version})
    top = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [index]}
    entries = [("blobs", "dir", None, 0o755), ("blobs/sha256", "dir", None, 0o755)]
    for digest in sorted(layout.blobs):
        entries.append((f"blobs/sha256/{digest[7:]}", "file", layout.blobs[digest], 0o644))
    entries += [("index.json", "file", canonical(top), 0o644),
                ("oci-layout", "file", canonical({"imageLayoutVersion": "1.0.0"}), 0o644)]
    with open(a.out, "wb") as f:
        f.write(tar_bytes(entries))


if __name__ == "__main__":
    main()
