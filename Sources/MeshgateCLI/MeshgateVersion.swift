/// The version `meshgate --version` prints, the image tag `scripts/build-image` uses and the
/// `app.kubernetes.io/version` label `meshgate install` writes.
public enum MeshgateVersion {
    public static let current = "0.1.0"
}
