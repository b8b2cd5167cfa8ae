//! `promptveil redact`: a text or JSON document in, the redacted text and a report out.

use promptveil::redact::Vault;

use crate::{RedactArgs, Result, at, read_input, write_output};

pub(crate) fn run(args: &RedactArgs) -> Result<()> {
    let redactor = args.rules.redactor()?;
    let input = read_input(args.input.as_deref())?;
    let vault = Vault::new();
    let (text, report) = if args.json {
        let doc: serde_json::Value = serde_json::from_str(&input)?;
        let red = redactor.redact_json(&doc, &vault)?;
        let (value, records) = red.into_parts();
        let text = serde_json::to_string_pretty(&value)? + "\n";
        (text, serde_json::to_value(&records)?)
    } else {
        let red = redactor.redact(&input, &vault);
        let (text, report) = red.into_parts();
        (text.into_string(), serde_json::to_value(&report)?)
    };
    write_output(args.output.as_deref(), &text)?;
    if let Some(path) = &args.report {
        let s = serde_json::to_string_pretty(&report)? + "\n";
        at(std::fs::write(path, s), path)?;
    }
    Ok(())
}
