//! The NER detector's settings file: per entity type threshold, sensitivity, action and
//! allow-list, plus windowing and gazetteer options, the passes switched off and the lexicon.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::candidate::Source;
use super::passes::PASSES;
use crate::error::{Error, ErrorKind, Location, Result};
use crate::redact::{Action, EntityType, RuleId};
use crate::sensitivity::Sensitivity;

/// The settings shipped with the crate (`fixtures/ner/default.toml`).
const DEFAULT: &str = include_str!("../../fixtures/ner/default.toml");

/// The entity types the detector can report.
const KNOWN: [&str; 15] = [
    "PERSON",
    "ADDRESS",
    "LOCATION",
    "ORGANIZATION",
    "NRP",
    "STATE",
    "EMAIL",
    "PHONE",
    "URL",
    "TAX_ID",
    "BANK_ACCOUNT",
    "ROUTING_NUMBER",
    "GOVERNMENT_ID",
    "PASSPORT",
    "DRIVERS_LICENSE",
];

/// Settings of the NER detector, read from TOML.
///
/// ```
/// use promptveil::ner::NerConfig;
///
/// let config = NerConfig::from_toml_str(r#"
/// version = 1
/// allow = ["Acme"]
/// [entities.PERSON]
/// threshold = 0.7
/// sensitivity = "restricted"
/// "#, None)?;
/// assert_eq!(config.entities["PERSON"].threshold, 0.7);
///
/// let src = "version = 1\n[entities.PERSONS]\nthreshold = 0.5\nsensitivity = \"internal\"\n";
/// let err = NerConfig::from_toml_str(src, None).unwrap_err();
/// assert!(err.to_string().starts_with("<rules>:2:2: rule `PERSONS`: unknown entity type"));
/// # Ok::<(), promptveil::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NerConfig {
    /// Format version; must be 1.
    pub version: u32,
    /// Characters per model window. Default 240.
    #[serde(default = "default_window")]
    pub window_chars: usize,
    /// Skip windows that cannot hold a name or an address. Default true.
    #[serde(default = "default_true")]
    pub prefilter: bool,
    /// Smallest city population in the place gazetteer. Default 15000; below that the larger
    /// GeoNames file (cities of 5,000 or more) is read. Measured: 5000 adds false hits on the
    /// evaluation set and no recall.
    #[serde(default = "default_population")]
    pub min_city_population: u64,
    /// Values never reported, whatever their type (whole value, any case).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Per entity type settings; a type without a table is not reported.
    #[serde(default)]
    pub entities: BTreeMap<String, EntitySettings>,
    /// Passes switched off, by name (`promptveil ner inventory` lists them). Default none.
    #[serde(default)]
    pub disabled_passes: Vec<String>,
    /// A lexicon file whose lists replace the shipped ones
    /// ([`Lexicon::with_file`](super::Lexicon::with_file)); relative to the settings file.
    /// Default none: the shipped `fixtures/ner/lexicon.toml`.
    #[serde(default)]
    pub lexicon: Option<PathBuf>,
}

/// Settings of one entity type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EntitySettings {
    /// Least score reported, in `0.0..=1.0`.
    pub threshold: f32,
    /// Sensitivity of the findings.
    pub sensitivity: Sensitivity,
    /// What replaces a finding. Default `placeholder`.
    #[serde(default)]
    pub action: Action,
    /// Values of this type never reported (whole value, any case).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Report this type at all. Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_window() -> usize {
    240
}
fn default_true() -> bool {
    true
}
fn default_population() -> u64 {
    15_000
}

impl Default for NerConfig {
    /// The shipped settings, `fixtures/ner/default.toml`.
    fn default() -> NerConfig {
        // The shipped file is checked by a unit test; should it ever fail to parse, an empty
        // configuration (which reports nothing) would be wrong, so fall back to code defaults.
        NerConfig::from_toml_str(DEFAULT, None).unwrap_or_else(|_| NerConfig {
            version: 1,
            window_chars: default_window(),
            prefilter: true,
            min_city_population: default_population(),
            allow: Vec::new(),
            disabled_passes: Vec::new(),
            lexicon: None,
            entities: KNOWN
                .iter()
                .map(|k| {
                    (
                        (*k).to_string(),
                        EntitySettings {
                            threshold: 0.5,
                            sensitivity: Sensitivity::Confidential,
                            action: Action::Placeholder,
                            allow: Vec::new(),
                            enabled: true,
                        },
                    )
                })
                .collect(),
        })
    }
}

impl NerConfig {
    /// Parses settings from TOML; `path` only names the file in errors.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] naming the file, line and column (and the entity type when the
    /// error is about one): bad TOML, an unknown key, an unknown entity type, a threshold
    /// outside `0.0..=1.0`, a window under 32 characters, a version other than 1.
    pub fn from_toml_str(src: &str, path: Option<&Path>) -> Result<NerConfig> {
        let at = |offset: usize| Location::from_offset(path, src, offset);
        let config: NerConfig = toml::from_str(src).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let msg = e.message().trim_end_matches('\n').replace('\n', "; ");
            Error::new(ErrorKind::Config, msg).with_location(at(offset))
        })?;
        // Semantic checks point at the entity's table header.
        let table = |name: &str| src.find(&format!("[entities.{name}]")).map_or(0, |i| i + 1);
        if config.version != 1 {
            return Err(Error::new(
                ErrorKind::Config,
                format!("version {} is not supported (expected 1)", config.version),
            )
            .with_location(at(src.find("version").unwrap_or(0))));
        }
        if config.window_chars < 32 {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "window_chars = {} is too small (32 or more)",
                    config.window_chars
                ),
            )
            .with_location(at(src.find("window_chars").unwrap_or(0))));
        }
        for name in &config.disabled_passes {
            if super::passes::index_of(name).is_none() {
                return Err(Error::new(ErrorKind::Config, unknown_pass(name))
                    .with_location(at(src.find("disabled_passes").unwrap_or(0))));
            }
        }
        for (name, settings) in &config.entities {
            if !KNOWN.contains(&name.as_str()) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "unknown entity type `{name}` (the detector reports {})",
                        KNOWN.join(", ")
                    ),
                )
                .with_rule(name.clone())
                .with_location(at(table(name))));
            }
            if !(0.0..=1.0).contains(&settings.threshold) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("threshold {} is outside 0.0..=1.0", settings.threshold),
                )
                .with_rule(name.clone())
                .with_location(at(table(name))));
            }
        }
        Ok(config)
    }

    /// Reads settings from a TOML file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the file cannot be read, else as [`NerConfig::from_toml_str`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<NerConfig> {
        let path = path.as_ref();
        let src = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut config = NerConfig::from_toml_str(&src, Some(path))?;
        // A lexicon named in the file is found beside it.
        if let (Some(lexicon), Some(dir)) = (&config.lexicon, path.parent())
            && lexicon.is_relative()
        {
            config.lexicon = Some(dir.join(lexicon));
        }
        Ok(config)
    }

    /// These settings with the pass `name` switched off too (checked when the detector is
    /// loaded: an unknown name is an error then).
    ///
    /// ```
    /// use promptveil::ner::NerConfig;
    ///
    /// let config = NerConfig::default().without_pass("propagate-names");
    /// assert_eq!(config.disabled_passes, ["propagate-names"]);
    /// ```
    #[must_use]
    pub fn without_pass(mut self, name: impl Into<String>) -> NerConfig {
        self.disabled_passes.push(name.into());
        self
    }

    pub(crate) fn compile(&self) -> Result<Compiled> {
        let mut enabled = vec![true; PASSES.len()];
        for name in &self.disabled_passes {
            let i = super::passes::index_of(name)
                .ok_or_else(|| Error::new(ErrorKind::Config, unknown_pass(name)))?;
            if let Some(e) = enabled.get_mut(i) {
                *e = false;
            }
        }
        let global: HashSet<String> = self.allow.iter().map(|a| a.to_lowercase()).collect();
        let mut entities = Vec::new();
        for (name, s) in &self.entities {
            if !s.enabled {
                continue;
            }
            let entity = EntityType::new(name)?;
            let mut allow: HashSet<String> = s.allow.iter().map(|a| a.to_lowercase()).collect();
            allow.extend(global.iter().cloned());
            let lower = name.to_lowercase().replace('_', "-");
            // One rule id per source and pass: `ner-person`, `ner-person.places`, ...
            let mut ids = Vec::with_capacity(Source::ALL.len() * (PASSES.len() + 1));
            for source in Source::ALL {
                let base = format!("{}-{lower}", source.prefix());
                ids.push(RuleId::new(&base)?);
                for pass in PASSES {
                    ids.push(RuleId::new(&format!("{base}.{}", pass.name))?);
                }
            }
            entities.push(Compiled1 {
                fallback: RuleId::new(&format!("ner-{lower}"))?,
                name: name.clone(),
                entity,
                threshold: s.threshold,
                sensitivity: s.sensitivity,
                action: s.action,
                allow,
                ids,
            });
        }
        Ok(Compiled {
            window_chars: self.window_chars,
            prefilter: self.prefilter,
            min_city_population: self.min_city_population,
            entities,
            enabled,
        })
    }
}

fn unknown_pass(name: &str) -> String {
    let names: Vec<&str> = PASSES.iter().map(|p| p.name).collect();
    format!(
        "unknown pass `{name}` in disabled_passes (the passes are {})",
        names.join(", ")
    )
}

/// Settings ready for the detector.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) window_chars: usize,
    pub(crate) prefilter: bool,
    pub(crate) min_city_population: u64,
    entities: Vec<Compiled1>,
    /// Per pass of [`PASSES`]: does it run?
    pub(crate) enabled: Vec<bool>,
}

impl Compiled {
    pub(crate) fn entity(&self, name: &str) -> Option<&Compiled1> {
        self.entities.iter().find(|e| e.name == name)
    }
}

/// One entity type's settings, with its rule ids built.
#[derive(Debug)]
pub(crate) struct Compiled1 {
    name: String,
    pub(crate) entity: EntityType,
    pub(crate) threshold: f32,
    pub(crate) sensitivity: Sensitivity,
    pub(crate) action: Action,
    allow: HashSet<String>,
    /// Rule ids by source (model, gazetteer, pattern, context), each without a pass and then
    /// with every pass in table order.
    ids: Vec<RuleId>,
    /// `ner-…`, the id of the model's own findings.
    fallback: RuleId,
}

impl Compiled1 {
    /// True when `value` is on an allow-list.
    pub(crate) fn allows(&self, value: &str) -> bool {
        !self.allow.is_empty() && self.allow.contains(&value.trim().to_lowercase())
    }

    /// The rule id of a finding from `source`, last produced or changed by `pass`:
    /// `ner-person`, `gazetteer-location.places`, `context-person.propagate-names`.
    pub(crate) fn rule_id(&self, source: Source, pass: Option<u8>) -> &RuleId {
        let s = Source::ALL.iter().position(|x| *x == source).unwrap_or(0);
        let p = pass.map_or(0, |p| usize::from(p) + 1);
        // Every source and pass has its id (built in `compile`); the entity's plain model id
        // stands in should an index ever fall outside, so a finding is never lost for want
        // of a name.
        self.ids
            .get(s * (PASSES.len() + 1) + p)
            .unwrap_or(&self.fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_settings_parse_and_cover_every_type() {
        let c = NerConfig::from_toml_str(DEFAULT, None).expect("default.toml parses");
        for k in KNOWN {
            assert!(c.entities.contains_key(k), "{k}");
        }
        assert!(c.compile().is_ok());
        let e = NerConfig::from_toml_str("version = 1\ndisabled_passes = [\"nope\"]\n", None)
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("<rules>:2:1: unknown pass `nope`"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_line_and_entity() {
        let src = "version = 1\n\n[entities.PERSON]\nthreshold = 1.5\nsensitivity = \"internal\"\n";
        let e = NerConfig::from_toml_str(src, Some(Path::new("ner.toml"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ner.toml:3:2: rule `PERSON`: threshold 1.5 is outside 0.0..=1.0"
        );
        let e = NerConfig::from_toml_str("version = 1\nwindow = 3\n", None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("<rules>:2:1: unknown field `window`"),
            "{e}"
        );
        let e = NerConfig::from_toml_str("version = 2\n", None).unwrap_err();
        assert!(e.to_string().contains("version 2"), "{e}");
    }

    #[test]
    fn allow_lists_ignore_case_and_surrounding_space() {
        let src = "version = 1\nallow = [\"Acme\"]\n[entities.PERSON]\nthreshold = 0.5\nsensitivity = \"internal\"\nallow = [\"Jordan\"]\n";
        let c = NerConfig::from_toml_str(src, None)
            .unwrap()
            .compile()
            .unwrap();
        let p = c.entity("PERSON").unwrap();
        assert!(p.allows(" jordan"));
        assert!(p.allows("ACME"));
        assert!(!p.allows("Jordan Lee"));
        assert_eq!(
            p.rule_id(Source::Gazetteer, None).as_str(),
            "gazetteer-person"
        );
        let places = crate::ner::passes::index_of("places").map(|i| i as u8);
        assert_eq!(
            p.rule_id(Source::Gazetteer, places).as_str(),
            "gazetteer-person.places"
        );
    }
}
