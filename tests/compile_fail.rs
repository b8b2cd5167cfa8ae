//! What the type system rules out: copying, serialising or printing a vault, forging a
//! redacted text or an enriched prompt, and sending raw text to a backend (as the prompt or
//! as an earlier turn). Each file under `tests/compile_fail/` must fail to compile with the error
//! recorded beside it (`TRYBUILD=overwrite cargo test --test compile_fail` re-records them
//! after a compiler upgrade changes the wording).

#[test]
fn privacy_guarantees_hold_at_compile_time() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
