// Nor can one be built from its field.
use promptveil::redact::RedactedText;

fn main() {
    let _forged = RedactedText(String::from("alice@example.com"));
}
