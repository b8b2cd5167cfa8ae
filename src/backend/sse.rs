//! An incremental parser for server-sent events (`text/event-stream`), the streaming format of
//! the OpenAI and Anthropic APIs.
//!
//! Bytes go in as they arrive, split anywhere (inside a line, between `\r` and `\n`, inside a
//! UTF-8 character); whole events come out. Lines end with `\n`, `\r\n` or `\r`; `:` starts a
//! comment; `data` lines of one event are joined with `\n`; `event` names it; `id` and `retry`
//! are read and ignored; a blank line ends the event. One event may hold at most a configured
//! number of bytes, so a server that never ends a line cannot grow the buffer without bound.
//!
//! ```
//! use promptveil::backend::sse::SseParser;
//!
//! let mut parser = SseParser::new(1 << 20);
//! let mut events = Vec::new();
//! parser.push(b"event: ping\ndata: {\"a\"", &mut events)?;
//! assert!(events.is_empty());
//! parser.push(b":1}\r\n\r\n: a comment\n", &mut events)?;
//! assert_eq!(events[0].event.as_deref(), Some("ping"));
//! assert_eq!(events[0].data, "{\"a\":1}");
//! # Ok::<(), promptveil::backend::sse::SseError>(())
//! ```

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SseEvent {
    /// The `event` field, when there was one.
    pub event: Option<String>,
    /// The `data` lines, joined with `\n`.
    pub data: String,
}

/// Why a stream could not be parsed. Never holds the stream's text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SseError {
    /// A line is not UTF-8.
    NotUtf8,
    /// One event is longer than the limit, in bytes.
    TooLarge(usize),
}

impl std::fmt::Display for SseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SseError::NotUtf8 => f.write_str("an event-stream line is not UTF-8"),
            SseError::TooLarge(limit) => write!(f, "an event exceeds {limit} bytes"),
        }
    }
}

impl std::error::Error for SseError {}

/// The parser's state between chunks.
#[derive(Debug)]
pub struct SseParser {
    /// The line being read (bytes: a chunk may end inside a character).
    line: Vec<u8>,
    /// The last byte seen was `\r`: a `\n` right after it belongs to the same line end.
    after_cr: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    limit: usize,
}

impl SseParser {
    /// A parser accepting events of up to `limit` bytes.
    pub fn new(limit: usize) -> SseParser {
        SseParser {
            line: Vec::new(),
            after_cr: false,
            event: None,
            data: String::new(),
            has_data: false,
            limit,
        }
    }

    /// Feeds `bytes`; appends every event they complete to `out`.
    ///
    /// # Errors
    ///
    /// [`SseError`] when a line is not UTF-8 or an event outgrows the limit; the parser
    /// should not be used after an error.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        let mut rest = bytes;
        while let Some((&first, tail)) = rest.split_first() {
            if std::mem::take(&mut self.after_cr) && first == b'\n' {
                rest = tail;
                continue;
            }
            match memchr::memchr2(b'\n', b'\r', rest) {
                Some(at) => {
                    let (line, end) = rest.split_at(at);
                    self.grow(line.len())?;
                    self.line.extend_from_slice(line);
                    if let Some((&ending, tail)) = end.split_first() {
                        self.after_cr = ending == b'\r';
                        rest = tail;
                    }
                    self.end_line(out)?;
                }
                None => {
                    self.grow(rest.len())?;
                    self.line.extend_from_slice(rest);
                    rest = &[];
                }
            }
        }
        Ok(())
    }

    /// True when the stream stopped in the middle of an event (data read, no blank line yet)
    /// or of a line: what was read since the last event is incomplete.
    pub fn is_mid_event(&self) -> bool {
        self.has_data || self.event.is_some() || !self.line.is_empty()
    }

    fn grow(&self, more: usize) -> Result<(), SseError> {
        if self.line.len() + self.data.len() + more > self.limit {
            Err(SseError::TooLarge(self.limit))
        } else {
            Ok(())
        }
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if self.has_data {
                out.push(SseEvent {
                    event: self.event.take(),
                    data: std::mem::take(&mut self.data),
                });
            }
            self.event = None;
            self.data.clear();
            self.has_data = false;
            return Ok(());
        }
        let line = std::str::from_utf8(&line).map_err(|_| SseError::NotUtf8)?;
        if line.starts_with(':') {
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
            // `id`, `retry` and unknown fields: nothing this client needs.
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_split(input: &[u8], at: &[usize]) -> Vec<SseEvent> {
        let mut p = SseParser::new(1 << 16);
        let mut out = Vec::new();
        let mut from = 0;
        for &cut in at.iter().chain(std::iter::once(&input.len())) {
            p.push(&input[from..cut], &mut out).expect("parses");
            from = cut;
        }
        out
    }

    #[test]
    fn events_are_the_same_however_the_bytes_are_split() {
        let input = "data: {\"x\": \"é\"}\r\n\r\nevent: message_stop\ndata: a\ndata:b\r\r: c\n\ndata: [DONE]\n\n"
            .as_bytes();
        let whole = parse_split(input, &[]);
        assert_eq!(
            whole,
            vec![
                SseEvent {
                    event: None,
                    data: "{\"x\": \"é\"}".into()
                },
                SseEvent {
                    event: Some("message_stop".into()),
                    data: "a\nb".into()
                },
                SseEvent {
                    event: None,
                    data: "[DONE]".into()
                },
            ]
        );
        for a in 0..input.len() {
            for b in a..input.len() {
                assert_eq!(parse_split(input, &[a, b]), whole, "split at {a}, {b}");
            }
        }
    }

    #[test]
    fn comments_and_empty_events_are_not_events_and_limits_hold() {
        let mut p = SseParser::new(16);
        let mut out = Vec::new();
        p.push(b": keep-alive\n\nevent: ping\n\n", &mut out)
            .expect("parses");
        assert!(out.is_empty());
        assert!(!p.is_mid_event());
        p.push(b"data: 0123456789", &mut out).expect("fits");
        assert!(p.is_mid_event());
        assert_eq!(p.push(b"0123456789", &mut out), Err(SseError::TooLarge(16)));
        let mut p = SseParser::new(16);
        assert_eq!(p.push(b"data: \xff\n", &mut out), Err(SseError::NotUtf8));
    }
}
