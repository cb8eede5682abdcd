"""unpack.py ARCHIVE DIR: extracts an OCI image archive's layers, in order, into DIR/rootfs and
writes the image config as DIR/config.json. Layer tars are extracted by tar (numeric owners,
modes kept); OCI whiteouts are honoured. Prints one line per layer."""
import json, os, subprocess, sys, tarfile

archive, out = sys.argv[1], sys.argv[2]
oci = os.path.join(out, "oci")
root = os.path.join(out, "rootfs")
os.makedirs(oci); os.makedirs(root)
subprocess.run(["tar", "-xf", archive, "-C", oci], check=True)

def blob(digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(oci, "blobs", algo, hexd)

index = json.load(open(os.path.join(oci, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
if manifest.get("mediaType", "").endswith("index.v1+json"):
    manifest = json.load(open(blob(manifest["manifests"][0]["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))
json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=1)
for layer in manifest["layers"]:
    path = blob(layer["digest"])
    with tarfile.open(path) as t:  # whiteouts first: .wh.NAME removes NAME from lower layers
        for m in t.getmembers():
            base = os.path.basename(m.name)
            if base.startswith(".wh.") and base != ".wh..wh..opq":
                subprocess.run(["rm", "-rf", os.path.join(root, os.path.dirname(m.name), base[4:])], check=True)
    subprocess.run(["tar", "-xpf", path, "-C", root, "--numeric-owner", "--exclude=.wh.*"], check=True)
    print("layer %s %s %d bytes" % (layer["digest"][:19], layer["mediaType"].rsplit(".", 1)[-1], layer["size"]))
