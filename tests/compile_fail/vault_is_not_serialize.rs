// A vault cannot be written out by serde: its values must not reach a log or a file.
use promptveil::redact::Vault;

fn store<T: serde::Serialize>(_: &T) {}

fn main() {
    store(&Vault::new());
}
