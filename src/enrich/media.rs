//! Images and sounds in a conversation: bytes no detector of this crate reads.
//!
//! A text is redacted before it leaves; an image or a recording cannot be (a card photographed
//! or a name spoken is in clear whatever the rules). So media is never *redacted*, it is
//! *confined*: a request that carries any goes only to an on-premises backend whose profile
//! says it takes that kind ([`BackendProfile::media`](crate::route::BackendProfile::media)),
//! and is routed and guarded as holding restricted data. Admission, whatever the routing
//! policy, and the egress guard, on the exact payload, both enforce it; with no such backend
//! the request is refused with an error naming the part.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a media part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MediaKind {
    /// A picture (`image/png`, `image/jpeg`, …).
    Image,
    /// A recording (`audio/wav`, `audio/mpeg`, …).
    Audio,
}

impl MediaKind {
    /// `image` or `audio`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
        }
    }

    fn of_mime(mime: &str) -> Option<MediaKind> {
        let (top, sub) = mime.split_once('/')?;
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        };
        if !token(sub) {
            return None;
        }
        match top {
            "image" => Some(MediaKind::Image),
            "audio" => Some(MediaKind::Audio),
            _ => None,
        }
    }
}

impl std::fmt::Display for MediaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An image or a recording attached to a user's message: inline (base64, with its MIME type)
/// or, for images, an `http(s)` URL the backend fetches itself. Its `Debug` shows the kind,
/// the type and the size, never the bytes or the URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Media {
    kind: MediaKind,
    source: Source,
}

#[derive(Clone, PartialEq, Eq)]
enum Source {
    Inline { mime: String, data: String },
    Url(String),
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Media");
        d.field("kind", &self.kind);
        match &self.source {
            Source::Inline { mime, data } => d.field("mime", mime).field("base64_len", &data.len()),
            Source::Url(url) => d.field("url_len", &url.len()),
        };
        d.finish()
    }
}

impl Media {
    /// A part of MIME type `mime` (`image/png`, `audio/wav`) whose bytes are `base64`
    /// (standard alphabet, padding optional).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the type is neither `image/…` nor
    /// `audio/…`, or the data is empty or not base64 (the message gives its length, never
    /// the data).
    pub fn inline(mime: impl Into<String>, base64: impl Into<String>) -> Result<Media> {
        let mime = mime.into().trim().to_ascii_lowercase();
        let data = base64.into();
        // The caller's text is not echoed: an error never holds what it was given.
        let kind = MediaKind::of_mime(&mime).ok_or_else(|| {
            Error::config(format!(
                "the media type given ({} bytes) is no image or audio type (image/png, \
                 audio/wav, …)",
                mime.len()
            ))
        })?;
        let body = data.trim_end_matches('=');
        let is_base64 = !body.is_empty()
            && data.len() - body.len() <= 2
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
        if !is_base64 {
            return Err(Error::config(format!(
                "the {kind} data ({} bytes) is not base64",
                data.len()
            )));
        }
        Ok(Media {
            kind,
            source: Source::Inline { mime, data },
        })
    }

    /// An image the backend fetches from `url` (`http` or `https`); a `data:` URL is taken
    /// as the inline part it spells.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the URL is neither `http(s)` nor
    /// a base64 `data:` URL of an image or a recording.
    pub fn url(url: impl Into<String>) -> Result<Media> {
        let url = url.into();
        if let Some(rest) = url.strip_prefix("data:") {
            let Some((mime, data)) = rest
                .split_once(',')
                .and_then(|(head, data)| Some((head.strip_suffix(";base64")?, data)))
            else {
                return Err(Error::config(
                    "a data: URL must be base64 (`data:image/png;base64,…`)",
                ));
            };
            return Media::inline(mime, data);
        }
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("http" | "https")) {
            return Err(Error::config(
                "an image URL must be http(s) or a base64 data: URL",
            ));
        }
        Ok(Media {
            kind: MediaKind::Image,
            source: Source::Url(url),
        })
    }

    /// What it is.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }

    /// Its MIME type, when inline.
    pub fn mime(&self) -> Option<&str> {
        match &self.source {
            Source::Inline { mime, .. } => Some(mime),
            Source::Url(_) => None,
        }
    }

    /// Its bytes in base64, when inline.
    pub fn base64(&self) -> Option<&str> {
        match &self.source {
            Source::Inline { data, .. } => Some(data),
            Source::Url(_) => None,
        }
    }

    /// The URL the backend fetches it from, when it is not inline. The URL is text that
    /// leaves as it is: the egress guard reads it.
    pub fn fetch_url(&self) -> Option<&str> {
        match &self.source {
            Source::Url(url) => Some(url),
            Source::Inline { .. } => None,
        }
    }

    /// As a URL: the fetch URL, or a `data:` URL of the inline bytes (what OpenAI's
    /// `image_url` takes).
    pub fn as_url(&self) -> std::borrow::Cow<'_, str> {
        match &self.source {
            Source::Url(url) => url.as_str().into(),
            Source::Inline { mime, data } => format!("data:{mime};base64,{data}").into(),
        }
    }

    /// Tokens a model is assumed to spend reading it, for the budget and the routing: a
    /// rough, fixed figure (models count images by tiles and sounds by seconds; what the
    /// budget needs is that a part is not free).
    pub fn tokens(&self) -> usize {
        MEDIA_TOKENS
    }
}

/// See [`Media::tokens`]: about what a large picture costs at the chat APIs' usual detail.
const MEDIA_TOKENS: usize = 1_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_checked_and_never_shown() {
        let png = Media::url("data:image/png;base64,iVBORw0KGgo=").unwrap();
        assert_eq!(png.kind(), MediaKind::Image);
        assert_eq!(png.mime(), Some("image/png"));
        assert_eq!(png.as_url(), "data:image/png;base64,iVBORw0KGgo=");
        assert!(!format!("{png:?}").contains("iVBOR"));
        let wav = Media::inline("audio/wav", "UklGRg==").unwrap();
        assert_eq!(wav.kind(), MediaKind::Audio);
        let remote = Media::url("https://files.example/scan.png").unwrap();
        assert_eq!(remote.fetch_url(), Some("https://files.example/scan.png"));
        assert!(!format!("{remote:?}").contains("files.example"));
        for bad in [
            Media::inline("text/plain", "aGk="),
            Media::inline("image/png", "not base64!"),
            Media::inline("image/png", ""),
            Media::url("ftp://files.example/a.png"),
            Media::url("data:image/png,rawbytes"),
            Media::url("file:///etc/passwd"),
        ] {
            assert_eq!(bad.unwrap_err().kind(), crate::ErrorKind::Config);
        }
    }
}
