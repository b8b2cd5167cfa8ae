// A vault holds the only copy of the redacted values: it cannot be duplicated.
use promptveil::redact::Vault;

fn main() {
    let vault = Vault::new();
    let _copy = vault.clone();
}
