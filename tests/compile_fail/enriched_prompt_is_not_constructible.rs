// Only `enrich` makes an `EnrichedPrompt`, from redacted (or declared public) text.
use promptveil::enrich::EnrichedPrompt;

fn main() {
    let _forged = EnrichedPrompt {
        text: String::from("Card 4111 1111 1111 1111"),
        citations: Vec::new(),
        tokens: 8,
        dropped: 0,
    };
}
