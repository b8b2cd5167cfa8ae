// Only the redactor makes a `RedactedText`: holding one proves that redaction ran.
use promptveil::redact::RedactedText;

fn main() {
    let _forged = RedactedText::new(String::from("alice@example.com"));
}
