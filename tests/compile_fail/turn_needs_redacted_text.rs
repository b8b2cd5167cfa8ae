// An earlier turn of a conversation is made from redacted text only: raw text cannot ride
// along in the history either.
use promptveil::enrich::{Role, Turn};

fn main() {
    let _turn = Turn::new(Role::User, "my card is 4111 1111 1111 1111");
}
