// A backend request is made from an enriched prompt only: raw text cannot reach a backend.
use promptveil::backend::BackendRequest;

fn main() {
    let _request = BackendRequest::new("Card 4111 1111 1111 1111 was charged twice", 100, 0.0);
}
