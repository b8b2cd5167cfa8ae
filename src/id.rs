//! Identifier newtypes for names that come from configuration or data: a backend's name, a
//! passage's id (and, with a check of their shape, the redaction's rule ids and entity
//! types). Cheap to clone (an `Arc<str>`), compared and hashed as their text, serialized as a
//! plain string, so the audit trail's JSON is the same as with bare strings.

/// The impls every text identifier shares: `as_str`, `Debug` and `Display` as the text,
/// comparison with `str`, `Borrow<str>`, `AsRef<str>`, `Serialize` as a string.
macro_rules! text_id_common {
    ($name:ident) => {
        impl $name {
            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

/// Defines a text identifier type that takes any text.
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            /// Wraps a name.
            pub fn new(name: impl AsRef<str>) -> $name {
                $name(std::sync::Arc::from(name.as_ref()))
            }
        }

        $crate::id::text_id_common!($name);

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name::new(s)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name(std::sync::Arc::from(s))
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> $name {
                $name::new(s)
            }
        }

        impl From<&$name> for $name {
            fn from(s: &$name) -> $name {
                s.clone()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                String::deserialize(d).map($name::from)
            }
        }
    };
}

pub(crate) use {text_id, text_id_common};
