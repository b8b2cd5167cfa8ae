// A vault cannot be formatted for display: printing it would print the values.
use promptveil::redact::Vault;

fn main() {
    let vault = Vault::new();
    println!("{vault}");
}
