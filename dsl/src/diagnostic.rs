//! Diagnostics as plain data: a stable code, a severity, where, the message's arguments and
//! hints. The words live in one catalogue with a Finnish and an English template per code, so
//! every diagnostic exists in both languages; [`render`] is the one function that turns a
//! diagnostic into text for a person, and [`to_json`] the one for tools.
//!
//! No message repeats text shaped like a Finnish personal identity code: an argument can come
//! from anywhere (a name in a model, a value on the command line, a line of events), so the
//! filled-in message, its hints and the source excerpts are redacted here, where every
//! diagnostic passes on its way out. [`identity_code_shapes`] is the one detector of that
//! shape; the engine validates what it finds before refusing a line of events.

use std::fmt::Write as _;

use serde::Serialize;

use crate::span::{FileId, SourceSet, Span};

/// The language diagnostics are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fi,
    En,
}

impl Lang {
    /// Picks Finnish for `fi_*` locales and English otherwise, given the value of the locale
    /// variables in the order `LC_ALL`, `LC_MESSAGES`, `LANG`.
    pub fn from_locale<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Lang {
        let chosen = values.into_iter().flatten().find(|value| !value.is_empty());
        match chosen {
            Some(value) if value.starts_with("fi") => Lang::Fi,
            _ => Lang::En,
        }
    }

    /// The one of two texts (or anything else) that is in this language.
    pub fn pick<T>(self, en: T, fi: T) -> T {
        match self {
            Lang::En => en,
            Lang::Fi => fi,
        }
    }
}

/// A message made in both languages at once, where it is made from text that only that place
/// has (a refused line's reason, built around what the line held).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bilingual {
    pub en: String,
    pub fi: String,
}

impl Bilingual {
    pub fn new(en: impl Into<String>, fi: impl Into<String>) -> Bilingual {
        Bilingual { en: en.into(), fi: fi.into() }
    }

    pub fn say(&self, lang: Lang) -> &str {
        lang.pick(&self.en, &self.fi)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// What kind of thing a name names; used in messages such as "unknown role".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub enum NameKind {
    Organisation,
    Role,
    Service,
    Segmentation,
    Segment,
    Axis,
    AxisValue,
    Chain,
    Process,
    Phase,
    Step,
    Task,
    Workflow,
    Lane,
    SegmentContent,
    /// Where a referral goes: a process, or a service of the catalogue.
    ReferralTarget,
    /// A declared case fact (`tieto`).
    Fact,
    /// An assessment form (`lomake`).
    Form,
    /// A question of a form.
    Question,
    /// Marker rules (`merkkisäännöt`).
    Markers,
}

impl NameKind {
    pub fn word(self, lang: Lang) -> &'static str {
        use NameKind::*;
        match (self, lang) {
            (Organisation, Lang::En) => "organisation",
            (Organisation, Lang::Fi) => "organisaatio",
            (Role, Lang::En) => "role",
            (Role, Lang::Fi) => "rooli",
            (Service, Lang::En) => "service",
            (Service, Lang::Fi) => "palvelu",
            (Segmentation, Lang::En) => "segmentation",
            (Segmentation, Lang::Fi) => "segmentointi",
            (Segment, Lang::En) => "segment",
            (Segment, Lang::Fi) => "segmentti",
            (Axis, Lang::En) => "axis",
            (Axis, Lang::Fi) => "akseli",
            (AxisValue, Lang::En) => "axis value",
            (AxisValue, Lang::Fi) => "akselin arvo",
            (Chain, Lang::En) => "service chain",
            (Chain, Lang::Fi) => "palveluketju",
            (Process, Lang::En) => "process",
            (Process, Lang::Fi) => "prosessi",
            (Phase, Lang::En) => "phase",
            (Phase, Lang::Fi) => "vaihe",
            (Step, Lang::En) => "step",
            (Step, Lang::Fi) => "askel",
            (Task, Lang::En) => "task",
            (Task, Lang::Fi) => "tehtävä",
            (Workflow, Lang::En) => "workflow",
            (Workflow, Lang::Fi) => "työnkulku",
            (Lane, Lang::En) => "lane",
            (Lane, Lang::Fi) => "kaista",
            (SegmentContent, Lang::En) => "segment content",
            (SegmentContent, Lang::Fi) => "segmenttisisältö",
            (ReferralTarget, Lang::En) => "process or service",
            (ReferralTarget, Lang::Fi) => "prosessi tai palvelu",
            (Fact, Lang::En) => "fact",
            (Fact, Lang::Fi) => "tieto",
            (Form, Lang::En) => "form",
            (Form, Lang::Fi) => "lomake",
            (Question, Lang::En) => "question",
            (Question, Lang::Fi) => "kysymys",
            (Markers, Lang::En) => "marker rules",
            (Markers, Lang::Fi) => "merkkisäännöt",
        }
    }
}

/// A value filled into a message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Kind(NameKind),
}

impl Arg {
    fn render(&self, lang: Lang) -> &str {
        match self {
            Arg::Text(text) => text,
            Arg::Kind(kind) => kind.word(lang),
        }
    }
}

/// Text for a secondary label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    FirstDefinedHere,
    FirstGivenHere,
    OpenedHere,
    StatutoryHere,
    AssessedHere,
    DefinedHere,
}

impl Note {
    fn text(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Note::DefinedHere, Lang::En) => "defined here",
            (Note::DefinedHere, Lang::Fi) => "määritelty tässä",
            (Note::FirstDefinedHere, Lang::En) => "first defined here",
            (Note::FirstDefinedHere, Lang::Fi) => "ensimmäinen määrittely on tässä",
            (Note::FirstGivenHere, Lang::En) => "first given here",
            (Note::FirstGivenHere, Lang::Fi) => "ensimmäisen kerran tässä",
            (Note::OpenedHere, Lang::En) => "opened here",
            (Note::OpenedHere, Lang::Fi) => "avattu tässä",
            (Note::StatutoryHere, Lang::En) => "the step is statutory here",
            (Note::StatutoryHere, Lang::Fi) => "askel on lakisääteinen tässä",
            (Note::AssessedHere, Lang::En) => "the segment is assessed here",
            (Note::AssessedHere, Lang::Fi) => "segmentti arvioidaan tässä",
        }
    }
}

/// Advice shown under the source excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// A close match for a misspelt word.
    DidYouMean(String),
    /// The hint template that the catalogue gives for the diagnostic's code.
    FromCatalogue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secondary {
    pub file: FileId,
    pub span: Span,
    pub note: Note,
}

/// One problem found in the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub file: FileId,
    pub span: Span,
    pub args: Vec<(&'static str, Arg)>,
    pub secondary: Vec<Secondary>,
    pub hints: Vec<Hint>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity and the catalogue's hint, if it has one.
    pub fn new(code: Code, file: FileId, span: Span) -> Diagnostic {
        let entry = code.entry();
        let hints = if entry.hint_en.is_some() { vec![Hint::FromCatalogue] } else { Vec::new() };
        Diagnostic {
            code,
            severity: entry.severity,
            file,
            span,
            args: Vec::new(),
            secondary: Vec::new(),
            hints,
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Diagnostic {
        self.args.push((name, Arg::Text(value.into())));
        self
    }

    pub fn kind(mut self, kind: NameKind) -> Diagnostic {
        self.args.push(("kind", Arg::Kind(kind)));
        self
    }

    pub fn secondary(mut self, file: FileId, span: Span, note: Note) -> Diagnostic {
        self.secondary.push(Secondary { file, span, note });
        self
    }

    pub fn did_you_mean(mut self, suggestion: Option<&str>) -> Diagnostic {
        if let Some(suggestion) = suggestion {
            // A concrete suggestion is more useful than the general hint, so it comes first.
            self.hints.insert(0, Hint::DidYouMean(suggestion.to_owned()));
        }
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The message in the given language, with the arguments filled in and anything shaped
    /// like a personal identity code redacted.
    pub fn message(&self, lang: Lang) -> String {
        let entry = self.code.entry();
        self.fill(
            match lang {
                Lang::En => entry.en,
                Lang::Fi => entry.fi,
            },
            lang,
        )
    }

    pub fn hint_texts(&self, lang: Lang) -> Vec<String> {
        let entry = self.code.entry();
        self.hints
            .iter()
            .filter_map(|hint| match hint {
                Hint::DidYouMean(word) => {
                    let word = redact_identity_codes(word);
                    Some(match lang {
                        Lang::En => format!("did you mean `{word}`?"),
                        Lang::Fi => format!("tarkoititko `{word}`?"),
                    })
                }
                Hint::FromCatalogue => {
                    let template = match lang {
                        Lang::En => entry.hint_en,
                        Lang::Fi => entry.hint_fi,
                    }?;
                    Some(self.fill(template, lang))
                }
            })
            .collect()
    }

    fn fill(&self, template: &str, lang: Lang) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) if after[..close].chars().all(|c| c.is_ascii_lowercase()) => {
                    let name = &after[..close];
                    match self.args.iter().find(|(n, _)| *n == name) {
                        Some((_, value)) => out.push_str(value.render(lang)),
                        None => {
                            out.push('{');
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        // Redacting the filled-in text rather than each argument also catches a code that two
        // arguments spell together.
        match redact_identity_codes(&out) {
            std::borrow::Cow::Borrowed(_) => out,
            std::borrow::Cow::Owned(redacted) => redacted,
        }
    }
}

/// One catalogue entry: the code's default severity and its templates.
#[derive(Debug)]
pub struct Entry {
    pub code: &'static str,
    pub severity: Severity,
    pub en: &'static str,
    pub fi: &'static str,
    pub hint_en: Option<&'static str>,
    pub hint_fi: Option<&'static str>,
}

macro_rules! catalogue {
    ($( $variant:ident = $code:literal, $sev:ident, en $en:literal, fi $fi:literal $(, hint $hen:literal, vihje $hfi:literal)? ; )*) => {
        /// Every diagnostic code. The string codes are stable: tools and `polku.toml` refer to them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code { $( $variant, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            pub fn entry(self) -> &'static Entry {
                match self {
                    $( Code::$variant => {
                        const ENTRY: Entry = Entry {
                            code: $code,
                            severity: Severity::$sev,
                            en: $en,
                            fi: $fi,
                            hint_en: catalogue!(@opt $($hen)?),
                            hint_fi: catalogue!(@opt $($hfi)?),
                        };
                        &ENTRY
                    } )*
                }
            }

            pub fn as_str(self) -> &'static str {
                self.entry().code
            }
        }
    };
    (@opt) => { None };
    (@opt $text:literal) => { Some($text) };
}

catalogue! {
    InvalidUtf8 = "P001", Error,
        en "the file is not UTF-8 text",
        fi "tiedosto ei ole UTF-8-tekstiä",
        hint "save the file in UTF-8 encoding",
        vihje "tallenna tiedosto UTF-8-merkistössä";
    UnterminatedText = "P002", Error,
        en "the text has no closing quote",
        fi "tekstistä puuttuu loppulainausmerkki",
        hint "end the text with `\"` on the same line",
        vihje "päätä teksti merkkiin `\"` samalla rivillä";
    UnclosedBlock = "P003", Error,
        en "the block `{` is never closed",
        fi "lohkoa `{` ei suljeta",
        hint "add `}` where the block ends",
        vihje "lisää `}` lohkon loppuun";
    UnexpectedCloseBrace = "P004", Error,
        en "`}` has no matching `{`",
        fi "merkille `}` ei ole vastaavaa merkkiä `{`",
        hint "remove the extra `}`",
        vihje "poista ylimääräinen `}`";
    UnexpectedChar = "P005", Error,
        en "unexpected character `{found}`",
        fi "odottamaton merkki `{found}`",
        hint "names contain letters, digits and `_`; texts go inside double quotes",
        vihje "nimissä voi olla kirjaimia, numeroita ja merkki `_`; tekstit kirjoitetaan lainausmerkkeihin";
    UnclosedParen = "P006", Error,
        en "the parenthesis `(` is never closed",
        fi "sulkumerkkiä `(` ei suljeta",
        hint "add `)` where the group ends",
        vihje "lisää `)` ryhmän loppuun";
    UnexpectedCloseParen = "P007", Error,
        en "`)` has no matching `(`",
        fi "merkille `)` ei ole vastaavaa merkkiä `(`";
    TooDeep = "P008", Error,
        en "nesting is deeper than {limit} levels",
        fi "sisäkkäisiä tasoja on enemmän kuin {limit}",
        hint "the content of this level is skipped",
        vihje "tämän tason sisältö ohitetaan";
    InvalidEscape = "P009", Error,
        en "unknown escape `{found}` in text",
        fi "tuntematon erikoismerkintä `{found}` tekstissä",
        hint "inside a text write `\\\"` for a quote, `\\\\` for a backslash and `\\n` for a line break",
        vihje "kirjoita tekstin sisään lainausmerkki `\\\"`, kenoviiva `\\\\` ja rivinvaihto `\\n`";
    TooManyErrors = "P010", Error,
        en "too many errors in this file; the rest are not shown",
        fi "tiedostossa on liikaa virheitä; loppuja ei näytetä";
    UnknownKeyword = "S001", Error,
        en "unknown keyword `{found}`",
        fi "tuntematon avainsana `{found}`";
    MisplacedKeyword = "S002", Error,
        en "`{found}` does not belong here: it goes inside `{parent}`",
        fi "`{found}` ei kuulu tähän: sen paikka on `{parent}`-lohkossa";
    ExpectedName = "S003", Error,
        en "`{keyword}` needs a name here",
        fi "`{keyword}` tarvitsee tähän nimen",
        hint "a name is a word of letters, digits and `_`, such as `terveystarkastus`",
        vihje "nimi on sana, jossa on kirjaimia, numeroita ja merkki `_`, esimerkiksi `terveystarkastus`";
    ExpectedText = "S004", Error,
        en "`{keyword}` needs a text in double quotes here",
        fi "`{keyword}` tarvitsee tähän tekstin lainausmerkeissä",
        hint "for example `\"Laaja terveystarkastus\"`",
        vihje "esimerkiksi `\"Laaja terveystarkastus\"`";
    UnexpectedWord = "S005", Error,
        en "`{keyword}` does not take `{found}` here",
        fi "`{keyword}` ei ota tähän sanaa `{found}`";
    UnknownAttribute = "S006", Error,
        en "unknown attribute `{found}` for `{keyword}`",
        fi "tuntematon määre `{found}` kohteelle `{keyword}`";
    ExpectedDuration = "S007", Error,
        en "`{keyword}` needs a duration here",
        fi "`{keyword}` tarvitsee tähän keston",
        hint "a duration is a number and a unit, such as `45 min`, `3 kk` or `1 h 30 min`",
        vihje "kesto on luku ja yksikkö, esimerkiksi `45 min`, `3 kk` tai `1 h 30 min`";
    UnknownUnit = "S008", Error,
        en "unknown time unit `{found}`",
        fi "tuntematon aikayksikkö `{found}`",
        hint "the units are min, h, pv, arkipäivää, viikkoa, kk and v",
        vihje "yksiköt ovat min, h, pv, arkipäivää, viikkoa, kk ja v";
    UnknownChannel = "S009", Error,
        en "unknown channel `{found}`",
        fi "tuntematon kanava `{found}`",
        hint "the channels are käynti, puhelin, sähköinen, kotikäynti, ryhmä and video",
        vihje "kanavat ovat käynti, puhelin, sähköinen, kotikäynti, ryhmä ja video";
    RepeatedAttribute = "S010", Error,
        en "`{found}` is given twice",
        fi "`{found}` on annettu kahdesti";
    ExpectedBlock = "S011", Error,
        en "`{keyword}` needs a block `{ … }`",
        fi "`{keyword}` tarvitsee lohkon `{ … }`";
    UnexpectedBlock = "S012", Error,
        en "`{keyword}` does not take a block",
        fi "`{keyword}` ei voi sisältää lohkoa";
    ExpectedFlowName = "S013", Error,
        en "the flow needs a name here",
        fi "kulusta puuttuu tästä nimi",
        hint "a flow joins names with `->`, such as `kulku a -> b -> c`",
        vihje "kulku yhdistää nimiä nuolilla, esimerkiksi `kulku a -> b -> c`";
    MixedFlowGroup = "S014", Error,
        en "one group cannot both run in parallel (`&`) and choose (`|`)",
        fi "sama ryhmä ei voi sekä haarautua rinnakkain (`&`) että valita (`|`)",
        hint "put one of them in its own parentheses, such as `((a & b) | c)`",
        vihje "laita toinen omiin sulkeisiinsa, esimerkiksi `((a & b) | c)`";
    UnknownAnchor = "S015", Error,
        en "unknown deadline anchor `{found}`",
        fi "tuntematon määräajan lähtökohta `{found}`",
        hint "a deadline counts from `tapauksen alusta`, `vaiheen alusta`, `edellisestä`, `askeleesta STEP` or `syntymästä`, comes `ennen askelta STEP`, or is `ikä DURATION` or a week of pregnancy, `rv WEEK`",
        vihje "määräaika lasketaan `tapauksen alusta`, `vaiheen alusta`, `edellisestä`, `askeleesta ASKEL` tai `syntymästä`, on `ennen askelta ASKEL`, tai se on `ikä KESTO` tai raskausviikko, `rv VIIKKO`";
    NumberTooLarge = "S016", Error,
        en "the number `{found}` is too large",
        fi "luku `{found}` on liian suuri";
    ZeroAmount = "S017", Error,
        en "`{keyword}` must be more than zero",
        fi "arvon `{keyword}` on oltava suurempi kuin nolla";
    MisplacedDefault = "S018", Error,
        en "`muuten` goes only at the start of a choice's last branch",
        fi "`muuten` kuuluu vain valinnan viimeisen haaran alkuun";
    BadWorkflowTarget = "S019", Error,
        en "a workflow's target is `PROCESS.PHASE` or `PROCESS.PHASE.STEP`",
        fi "työnkulun kohde on muotoa `PROSESSI.VAIHE` tai `PROSESSI.VAIHE.ASKEL`";
    ExpectedArrow = "S020", Error,
        en "`{keyword}` needs `->` here",
        fi "`{keyword}` tarvitsee tähän nuolen `->`";
    ExpectedAxisValues = "S021", Error,
        en "an axis needs `:` and its values",
        fi "akseli tarvitsee merkin `:` ja arvonsa",
        hint "for example `akseli tarve \"Avun tarve\": kevyt | runsas`",
        vihje "esimerkiksi `akseli tarve \"Avun tarve\": kevyt | runsas`";
    ConditionOutsideChoice = "S022", Error,
        en "`{found}` belongs to a choice (`|`), not to a parallel split",
        fi "`{found}` kuuluu valintaan (`|`), ei rinnakkaiseen haarautumiseen";
    MissingPhaseForAdd = "S023", Error,
        en "`lisää askel` needs `vaiheeseen PHASE`, `ennen STEP` or `jälkeen STEP` to say where the step goes",
        fi "`lisää askel` tarvitsee määreen `vaiheeseen VAIHE`, `ennen ASKEL` tai `jälkeen ASKEL`, joka kertoo askeleen paikan";
    QualifiedNotAllowed = "S024", Error,
        en "the name `{found}` cannot contain `.` here",
        fi "nimessä `{found}` ei voi olla tässä pistettä",
        hint "only a workflow's target joins names with `.`",
        vihje "vain työnkulun kohde yhdistää nimiä pisteellä";
    PregnancyWeekOutOfRange = "S025", Error,
        en "there is no week {found} of pregnancy",
        fi "raskausviikkoa {found} ei ole",
        hint "a pregnancy lasts about 40 weeks: write the week as a number from 0 to 45, such as `rv 12`",
        vihje "raskaus kestää noin 40 viikkoa: kirjoita viikko lukuna 0–45, esimerkiksi `rv 12`";
    UnknownQuestionKind = "S026", Error,
        en "unknown kind of question `{found}`",
        fi "tuntematon kysymystyyppi `{found}`",
        hint "the kinds are `asteikko MIN MAX`, `kyllä_ei`, `valinta A | B`, `monivalinta A | B` and `teksti`",
        vihje "tyypit ovat `asteikko PIENIN SUURIN`, `kyllä_ei`, `valinta A | B`, `monivalinta A | B` ja `teksti`";
    BadScale = "S027", Error,
        en "a scale goes from a smaller number to a larger one, at most 20 steps apart, not `{found}`",
        fi "asteikko kulkee pienemmästä luvusta suurempaan, enintään 20 askelta, ei `{found}`",
        hint "for example `asteikko 1 5`",
        vihje "esimerkiksi `asteikko 1 5`";
    ExpectedAnswer = "S028", Error,
        en "the condition on `{question}` needs an answer: `kyllä`, `ei`, a number, `enintään N`, `vähintään N` or options",
        fi "kysymystä `{question}` koskeva ehto tarvitsee vastauksen: `kyllä`, `ei`, luvun, `enintään N`, `vähintään N` tai vaihtoehdot";
    UnknownMarkerCondition = "S029", Error,
        en "unknown marker condition `{found}`",
        fi "tuntematon merkkiehto `{found}`",
        hint "a condition is `koodi SYSTEM CODE, …`, `merkki NAME, …` or `käyntejä SYSTEM CODE, … vähintään N ikkuna DURATION`",
        vihje "ehto on `koodi JÄRJESTELMÄ KOODI, …`, `merkki NIMI, …` tai `käyntejä JÄRJESTELMÄ KOODI, … vähintään N ikkuna KESTO`";
    UnknownName = "R001", Error,
        en "unknown {kind} `{name}`",
        fi "tuntematon {kind} `{name}`";
    DuplicateName = "R002", Error,
        en "{kind} `{name}` is defined twice",
        fi "{kind} `{name}` on määritelty kahdesti",
        hint "give one of them another name",
        vihje "anna toiselle eri nimi";
    SecondOrganisation = "R003", Error,
        en "a model describes one organisation, but this one names a second: `{name}`",
        fi "malli kuvaa yhden organisaation, mutta tässä nimetään toinen: `{name}`";
    RemovesStatutory = "R004", Error,
        en "segment `{segment}` leaves out the statutory step `{name}`",
        fi "segmentti `{segment}` jättää pois lakisääteisen askeleen `{name}`",
        hint "a segment adds to the statutory minimum and never removes from it; use `muuta` to change the step for this segment",
        vihje "segmentti lisää lakisääteiseen vähimmäistasoon eikä koskaan poista siitä; muuta askelta tälle segmentille komennolla `muuta`";
    RepeatedInFlow = "R005", Error,
        en "`{name}` appears twice in the flow",
        fi "`{name}` esiintyy kulussa kahdesti",
        hint "use `toista ( … )` to repeat, or give the second occurrence its own name",
        vihje "käytä toistoon muotoa `toista ( … )` tai anna toiselle kohdalle oma nimi";
    SegmentsWithoutSegmentation = "R006", Error,
        en "segment `{name}` is named, but no `segmentointi` says whose segments these are",
        fi "segmentti `{name}` mainitaan, mutta `segmentointi` ei kerro, kenen segmenttejä nämä ovat",
        hint "add `segmentointi NAME` to the enclosing block",
        vihje "lisää ympäröivään lohkoon `segmentointi NIMI`";
    StepNotInPhase = "R007", Error,
        en "step `{name}` is not in phase `{phase}`",
        fi "askel `{name}` ei kuulu vaiheeseen `{phase}`";
    PlacementOutsidePhase = "R008", Error,
        en "step `{name}` goes to phase `{phase}`, but the step `{anchor}` it is placed next to is in phase `{other}`",
        fi "askel `{name}` lisätään vaiheeseen `{phase}`, mutta askel `{anchor}`, jonka viereen se sijoitetaan, on vaiheessa `{other}`",
        hint "leave out `vaiheeseen`: a step placed before or after another step joins that step's phase",
        vihje "jätä `vaiheeseen` pois: askel, joka sijoitetaan toisen askeleen edelle tai perään, kuuluu tämän askeleen vaiheeseen";
    SecondAssessingStep = "R009", Error,
        en "process `{process}` assesses the segment in two steps, `{first}` and `{name}`",
        fi "prosessi `{process}` arvioi segmentin kahdessa askeleessa, `{first}` ja `{name}`",
        hint "mark only the step in which the segment is decided with `arvioi segmentin`",
        vihje "merkitse määreellä `arvioi segmentin` vain askel, jossa segmentti päätetään";
    ContentBeforeAssessment = "R010", Error,
        en "segment `{segment}` has content for step `{name}`, but the segment is known only after step `{assessing}`",
        fi "segmentillä `{segment}` on sisältöä askeleelle `{name}`, mutta segmentti tiedetään vasta askeleen `{assessing}` jälkeen",
        hint "segment content applies from the steps after the assessment on: before it, the client's segment is not yet known",
        vihje "segmentin sisältö koskee arviointia seuraavia askeleita: ennen arviointia asiakkaan segmenttiä ei vielä tiedetä";
    AssessmentWithoutSegmentation = "R011", Error,
        en "step `{name}` assesses the segment, but process `{process}` names no `segmentointi`",
        fi "askel `{name}` arvioi segmentin, mutta prosessille `{process}` ei ole nimetty segmentointia (`segmentointi`)";
    ConditionOnNumber = "R012", Error,
        en "`jos` needs a yes-or-no fact, but `{name}` is a number",
        fi "`jos` tarvitsee kyllä/ei-tiedon, mutta `{name}` on luku",
        hint "a number fact repeats a step with `toistuu {name}`; a condition names a fact declared without `luku`",
        vihje "lukutieto toistaa askeleen määreellä `toistuu {name}`; ehto nimeää tiedon, joka on määritelty ilman sanaa `luku`";
    RepeatOnYesNo = "R013", Error,
        en "`toistuu` needs a number fact, but `{name}` is a yes-or-no fact",
        fi "`toistuu` tarvitsee lukutiedon, mutta `{name}` on kyllä/ei-tieto",
        hint "declare the number with `luku`, such as `tieto lapsia \"Lasten määrä\" luku`; a yes-or-no fact is a condition: `jos {name}`",
        vihje "määrittele luku sanalla `luku`, esimerkiksi `tieto lapsia \"Lasten määrä\" luku`; kyllä/ei-tieto on ehto: `jos {name}`";
    NotAssessingStep = "R014", Error,
        en "form `{form}` is gone through in step `{name}`, which does not assess the segment",
        fi "lomake `{form}` käydään läpi askeleessa `{name}`, joka ei arvioi segmenttiä",
        hint "a form proposes the segment: name the step marked `arvioi segmentin`",
        vihje "lomake ehdottaa segmenttiä: nimeä askel, joka on merkitty `arvioi segmentin`";
    FormSegmentationMismatch = "R015", Error,
        en "form `{form}` scores segmentation `{segmentation}`, but process `{process}` assesses segmentation `{other}`",
        fi "lomake `{form}` pisteyttää segmentoinnin `{segmentation}`, mutta prosessi `{process}` arvioi segmentoinnin `{other}`";
    AnswerDoesNotFit = "R016", Error,
        en "`{found}` is not an answer to question `{question}` (its answers: {answers})",
        fi "`{found}` ei ole vastaus kysymykseen `{question}` (sen vastaukset: {answers})";
    ShownBeforeAsked = "R017", Error,
        en "question `{name}` is shown after an answer to `{question}`, which is not asked before it",
        fi "kysymys `{name}` näytetään kysymyksen `{question}` vastauksen perusteella, mutta sitä ei kysytä ennen",
        hint "a question can depend only on the answers to the questions above it",
        vihje "kysymys voi riippua vain sitä ennen kysyttyjen kysymysten vastauksista";
    UnknownCodeSystem = "R018", Error,
        en "unknown code system `{found}`",
        fi "tuntematon koodisto `{found}`",
        hint "the code systems are ICD10 (diagnoses), ICPC2, SPAT (visit codes) and SHPT (social-care service codes); a named marker is `merkki NAME`",
        vihje "koodistot ovat ICD10 (diagnoosit), ICPC2, SPAT (käyntikoodit) ja SHPT (sosiaalihuollon palvelukoodit); nimetty merkki on `merkki NIMI`";
    MalformedCode = "R019", Error,
        en "`{found}` is not a code of {system}",
        fi "`{found}` ei ole koodiston {system} koodi",
        hint "{shape}",
        vihje "{shape}";
    Unused = "V001", Warning,
        en "{kind} `{name}` is defined but never used",
        fi "{kind} `{name}` on määritelty, mutta sitä ei käytetä missään";
    Unreachable = "V002", Error,
        en "`{name}` can never happen: the flow never reaches it",
        fi "`{name}` ei voi koskaan toteutua: kulku ei koskaan etene siihen",
        hint "add `{name}` to a `kulku`, or remove it",
        vihje "lisää `{name}` johonkin `kulku`-riviin tai poista se";
    NoEnd = "V003", Error,
        en "after `{name}` the flow can never reach its end",
        fi "kohdan `{name}` jälkeen kulku ei voi koskaan päättyä",
        hint "continue the flow from `{name}` to an element that leads to the end",
        vihje "jatka kulkua kohdasta `{name}` johonkin, josta pääsee loppuun";
    LoopWithoutExit = "V004", Error,
        en "the loop through `{name}` has no way out: {path}",
        fi "kohdan `{name}` kautta kulkevasta silmukasta ei pääse ulos: {path}";
    SplitWithoutJoin = "V005", Error,
        en "the flow can end while work is still open in {open}; path: {path}",
        fi "kulku voi päättyä, vaikka työtä on yhä kesken kohdassa {open}; polku: {path}",
        hint "a parallel split (`&`) must end in the same group; a branch that leaves the group is never waited for",
        vihje "rinnakkaisen haarautumisen (`&`) haarojen on päätyttävä samaan ryhmään; ryhmästä poistuvaa haaraa ei odoteta";
    JoinNeverCompletes = "V006", Error,
        en "the flow gets stuck: after {path} the parallel group ({branches}) still waits for `{missing}`, which can no longer happen",
        fi "kulku jumittuu: polun {path} jälkeen rinnakkainen ryhmä ({branches}) odottaa yhä kohtaa `{missing}`, joka ei voi enää toteutua";
    ChoiceWithoutDefault = "V007", Warning,
        en "the choice starting with `{name}` has no default branch",
        fi "valinnalla, joka alkaa kohdasta `{name}`, ei ole oletushaaraa",
        hint "mark the branch taken when no condition holds with `muuten`",
        vihje "merkitse haara, joka valitaan kun mikään ehto ei täyty, sanalla `muuten`";
    StateLimit = "V008", Warning,
        en "the flow of `{name}` has more than {limit} states; its soundness was not decided",
        fi "kulussa `{name}` on yli {limit} tilaa; sen toimivuutta ei ratkaistu",
        hint "split the flow into smaller phases",
        vihje "jaa kulku pienempiin vaiheisiin";
    Unbounded = "V009", Error,
        en "work can pile up without end in the flow of `{name}`: {path}",
        fi "työtä voi kasautua loputtomasti kulussa `{name}`: {path}",
        hint "a branch that goes back to an earlier element must not leave a parallel group open",
        vihje "haara, joka palaa aiempaan kohtaan, ei saa jättää rinnakkaista ryhmää auki";
    SegmentWithoutContent = "V010", Error,
        en "process `{name}` in chain `{chain}` says nothing of segment `{segment}`",
        fi "palveluketjun `{chain}` prosessi `{name}` ei kerro mitään segmentistä `{segment}`",
        hint "add `segmentti {segment} perii` if the generic content fits this segment as it is",
        vihje "lisää `segmentti {segment} perii`, jos yleinen sisältö sopii segmentille sellaisenaan";
    PhaseWithoutWorkflow = "V011", Error,
        en "phase `{name}` is performed by staff but has no workflow",
        fi "vaihe `{name}` on henkilöstön työtä, mutta siltä puuttuu työnkulku",
        hint "describe the division of work with `työnkulku {process}.{name} \"…\" { … }`",
        vihje "kuvaa työnjako: `työnkulku {process}.{name} \"…\" { … }`";
    LaneMissing = "V012", Error,
        en "the workflow has no lane for role `{role}`, who performs `{step}`",
        fi "työnkulussa ei ole kaistaa roolille `{role}`, joka tekee askeleen `{step}`";
    StatutoryMadeOptional = "V013", Error,
        en "segment `{segment}` makes the statutory step `{name}` optional",
        fi "segmentti `{segment}` tekee lakisääteisestä askeleesta `{name}` valinnaisen",
        hint "a segment adds to the statutory minimum and never removes from it",
        vihje "segmentti lisää lakisääteiseen vähimmäistasoon eikä koskaan poista siitä";
    IncompleteCard = "V014", Warning,
        en "the profile card of segment `{name}` lacks: {fields}",
        fi "segmentin `{name}` profiilikortista puuttuu: {fields}";
    QuadrantsUncovered = "V015", Warning,
        en "no segment of `{name}` covers {missing}",
        fi "mikään segmentoinnin `{name}` segmentti ei kata yhdistelmää {missing}",
        hint "add a segment there, or say why not with `kattavuus \"…\"`",
        vihje "lisää sinne segmentti tai kerro syy rivillä `kattavuus \"…\"`";
    NotPositive = "V016", Error,
        en "`{keyword}` must be longer than zero",
        fi "arvon `{keyword}` on oltava pidempi kuin nolla";
    DeadlineOrder = "V017", Warning,
        en "the deadline of `{name}` ({first}) falls after the deadline of the later step `{later}` ({second})",
        fi "askeleen `{name}` määräaika ({first}) on myöhemmin kuin myöhemmän askeleen `{later}` määräaika ({second})";
    ReferralOutsideChain = "V020", Warning,
        en "step `{step}` refers clients from `{from}` to `{to}`, but no service chain has the referral `{from} -> {to}`",
        fi "askel `{step}` ohjaa asiakkaita palvelusta `{from}` palveluun `{to}`, mutta yhdessäkään palveluketjussa ei ole ohjausta `{from} -> {to}`",
        hint "add `ohjaus {from} -> {to}` to the chain that the services belong to, with the segments it is for",
        vihje "lisää palveluketjuun ohjaus `ohjaus {from} -> {to}` ja segmentit, joita se koskee";
    StatutoryOptionalInGeneric = "V021", Error,
        en "the statutory step `{name}` is optional in the generic process",
        fi "lakisääteinen askel `{name}` on yleisessä prosessissa valinnainen",
        hint "a statutory step is required for every client: leave out `valinnainen`",
        vihje "lakisääteinen askel kuuluu jokaiselle asiakkaalle: poista `valinnainen`";
    StaffStepInClientPhase = "V022", Error,
        en "phase `{phase}` is marked as the client's (`asiakas`), but step `{step}` is done by `{role}`, who is not a client role",
        fi "vaihe `{phase}` on merkitty asiakkaan vaiheeksi (`asiakas`), mutta askeleen `{step}` tekee `{role}`, joka ei ole asiakasrooli",
        hint "a client's phase needs no workflow, so staff work in it would go undivided: move the step to a staff phase or remove `asiakas`",
        vihje "asiakkaan vaihe ei tarvitse työnkulkua, joten henkilöstön työ jäisi siinä jakamatta: siirrä askel henkilöstön vaiheeseen tai poista `asiakas`";
    StatutoryWithoutTask = "V023", Error,
        en "no task of the workflow of phase `{phase}` carries out the statutory step `{step}`",
        fi "vaiheen `{phase}` työnkulun mikään tehtävä ei toteuta lakisääteistä askelta `{step}`",
        hint "mark the task that does it with `askel {step}`",
        vihje "merkitse sen tekevä tehtävä määreellä `askel {step}`";
    TaskRoleMismatch = "V024", Warning,
        en "task `{task}` in the lane of `{role}` carries out step `{step}`, which `{role}` does not perform (it is done by {roles})",
        fi "roolin `{role}` kaistan tehtävä `{task}` toteuttaa askelta `{step}`, jota `{role}` ei tee (sen tekee {roles})",
        hint "move the task to a lane of a role that performs the step, or add the role to the step's `tekijät`",
        vihje "siirrä tehtävä askeleen tekijän kaistalle tai lisää rooli askeleen tekijöihin (`tekijät`)";
    WindowClosesBeforeOpening = "V025", Error,
        en "the time window of `{name}` opens ({first}) after it closes ({second})",
        fi "askeleen `{name}` aikaikkuna alkaa ({first}) vasta sen päätyttyä ({second})",
        hint "`aikaisintaan` is the start of the window and `määräaika` its end",
        vihje "`aikaisintaan` on aikaikkunan alku ja `määräaika` sen loppu";
    TooManyFacts = "V026", Error,
        en "the plans of process `{process}` depend on {flags} yes-or-no facts and {numbers} number facts; a process can depend on at most 6 and 1",
        fi "prosessin `{process}` suunnitelmat riippuvat {flags} kyllä/ei-tiedosta ja {numbers} lukutiedosta; prosessi voi riippua enintään kuudesta ja yhdestä",
        hint "split the process, or combine facts that always go together into one",
        vihje "jaa prosessi tai yhdistä aina yhdessä esiintyvät tiedot yhdeksi";
    ScoringGap = "V027", Error,
        en "the rules of axis `{axis}` in form `{form}` give no value for these answers: {example}",
        fi "lomakkeen `{form}` akselin `{axis}` säännöt eivät anna arvoa näille vastauksille: {example}",
        hint "add a rule that covers them, or end with a rule for what remains",
        vihje "lisää sääntö, joka kattaa ne, tai lopeta sääntöön, joka kattaa loput";
    ScoringOverlap = "V028", Error,
        en "the rules of axis `{axis}` in form `{form}` give both `{first}` and `{second}` for these answers: {example}",
        fi "lomakkeen `{form}` akselin `{axis}` säännöt antavat sekä arvon `{first}` että `{second}` näille vastauksille: {example}",
        hint "narrow one of the rules, or say which value a tie gets with `tasapeli VALUE`",
        vihje "rajaa toista sääntöä tai kerro tasapelin arvo: `tasapeli ARVO`";
    SegmentNotProposed = "V029", Warning,
        en "no answers to form `{form}` lead to segment `{segment}`",
        fi "mikään vastausyhdistelmä lomakkeeseen `{form}` ei johda segmenttiin `{segment}`";
    QuestionUnused = "V030", Warning,
        en "question `{name}` of form `{form}` is used by no scoring rule",
        fi "lomakkeen `{form}` kysymystä `{name}` ei käytä mikään pisteytyssääntö",
        hint "use it in a rule, or mark it `tiedoksi` when it is there for the conversation",
        vihje "käytä sitä säännössä tai merkitse se sanalla `tiedoksi`, kun se on keskustelun tueksi";
    ScoringTooLarge = "V031", Warning,
        en "the scoring of form `{form}` was not checked in full: its rules read {count} combinations of answers",
        fi "lomakkeen `{form}` pisteytystä ei tarkistettu kokonaan: sen säännöt lukevat {count} vastausyhdistelmää";
    MarkerRulesWithoutPriority = "V032", Error,
        en "marker rules for `{first}` and `{second}` can hold for the same client and have the same priority",
        fi "segmenttien `{first}` ja `{second}` merkkisäännöt voivat päteä samaan asiakkaaseen, ja niillä on sama etusija",
        hint "give the rules different priorities with `etusija N` (the smaller wins)",
        vihje "anna säännöille eri etusijat sanalla `etusija N` (pienempi voittaa)";
    MarkerSegmentUnreached = "V033", Warning,
        en "no marker rule of `{markers}` proposes segment `{segment}`",
        fi "mikään merkkisääntöjen `{markers}` sääntö ei ehdota segmenttiä `{segment}`";
    WindowLongerThanRetention = "V034", Error,
        en "the window of {window} is longer than the {retention} the rows are kept",
        fi "ikkuna {window} on pidempi kuin rivien säilytysaika {retention}",
        hint "a window counts only rows that are still kept: shorten it, or keep the rows longer with `säilytys`",
        vihje "ikkuna laskee vain säilytettyjä rivejä: lyhennä sitä tai pidennä säilytystä (`säilytys`)";
    TooManyMarkerConditions = "V035", Error,
        en "marker rules `{markers}` have {count} conditions; at most 64 are told apart",
        fi "merkkisäännöissä `{markers}` on {count} ehtoa; enintään 64 erotetaan toisistaan",
        hint "split the rules into several `merkkisäännöt`, or combine codes into one condition (`koodi ICD10 F10, F11`)",
        vihje "jaa säännöt useampaan `merkkisäännöt`-lohkoon tai yhdistä koodeja samaan ehtoon (`koodi ICD10 F10, F11`)";
    StepOffSegmentPath = "V018", Error,
        en "step `{step}` is planned for {segments}, but the workflow carries it out only on branches that they do not take",
        fi "askel `{step}` on suunniteltu segmenteille {segments}, mutta työnkulku toteuttaa sen vain haaroissa, joihin ne eivät kulje",
        hint "add the segment to the branch's `kun segmentti …` (or key the branch on the step's fact, `kun tieto …`), or carry the step out on the branch the segment takes",
        vihje "lisää segmentti haaran ehtoon `kun segmentti …` (tai valitse haara askeleen tiedon mukaan, `kun tieto …`) tai toteuta askel haarassa, johon segmentti kulkee";
    StepOnFreeTextBranch = "V019", Warning,
        en "step `{step}` is required for {segments}, but the workflow carries it out only on some branches of a choice with a free-text condition, which can skip it",
        fi "askel `{step}` on pakollinen segmenteille {segments}, mutta työnkulku toteuttaa sen vain joissakin vapaatekstiehtoisen valinnan haaroissa, jolloin se voi jäädä tekemättä",
        hint "key the choice on the segment (`kun segmentti …`) so that the check can follow each segment's path",
        vihje "valitse haara segmentin mukaan (`kun segmentti …`), jotta tarkistus voi seurata kunkin segmentin polkua";
}

/// Renders diagnostics for a person: the code and message, `file:line:column`, the source line
/// with the span underlined, secondary labels and hints.
pub fn render(diagnostics: &[Diagnostic], sources: &SourceSet, lang: Lang) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        render_one(&mut out, diagnostic, sources, lang);
        out.push('\n');
    }
    out
}

fn render_one(out: &mut String, d: &Diagnostic, sources: &SourceSet, lang: Lang) {
    let severity = match (d.severity, lang) {
        (Severity::Error, Lang::En) => "error",
        (Severity::Error, Lang::Fi) => "virhe",
        (Severity::Warning, Lang::En) => "warning",
        (Severity::Warning, Lang::Fi) => "varoitus",
    };
    let _ = writeln!(out, "{severity}[{}]: {}", d.code.as_str(), d.message(lang));
    let mut excerpts = vec![(d.file, d.span, '^', None)];
    excerpts.extend(d.secondary.iter().map(|s| (s.file, s.span, '-', Some(s.note.text(lang)))));
    let gutter = excerpts
        .iter()
        .map(|(file, span, _, _)| {
            let file = sources.get(*file);
            file.line_column(span.start).line.to_string().len()
        })
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(gutter);
    for (index, (file_id, span, mark, note)) in excerpts.iter().enumerate() {
        let file = sources.get(*file_id);
        let start = file.line_column(span.start);
        let arrow = if index == 0 { "-->" } else { ":::" };
        let _ = writeln!(out, "{pad}{arrow} {}:{}:{}", file.path, start.line, start.column);
        let line_index = start.line as usize - 1;
        let line = file.line_text(line_index);
        let line_start = file.line_start(line_index);
        let _ = writeln!(out, "{pad} |");
        let shown: String = line.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let shown = mask_identity_codes(&shown);
        let _ = writeln!(out, "{:>gutter$} | {}", start.line, shown.trim_end());
        let from = (span.start as usize).saturating_sub(line_start).min(line.len());
        let to = (span.end as usize).saturating_sub(line_start).clamp(from, line.len());
        let before = char_count(line, 0, from);
        let width = char_count(line, from, to).max(1);
        let mut underline =
            format!("{pad} | {}{}", " ".repeat(before), mark.to_string().repeat(width));
        if let Some(note) = note {
            underline.push(' ');
            underline.push_str(note);
        }
        let _ = writeln!(out, "{underline}");
    }
    let hint_word = match lang {
        Lang::En => "help",
        Lang::Fi => "vihje",
    };
    for hint in d.hint_texts(lang) {
        let _ = writeln!(out, "{pad} = {hint_word}: {hint}");
    }
}

fn char_count(line: &str, from: usize, to: usize) -> usize {
    let floor = |mut i: usize| {
        while i > 0 && !line.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    line[floor(from)..floor(to)].chars().count()
}

/// Where a text is shaped like a Finnish personal identity code as a person would type one:
/// six digits (the birth date `DDMMYY`), then a century sign (`+ - Y X W V U A B C D E F`, in
/// either case), or a space or another dash in its place, or nothing at all; three digits (the
/// individual number) and a letter or digit (the check character).
///
/// Letters may touch it (`hetu131052-308T`), digits may not: six digits that end a longer
/// number, or ten that are part of one, are not a code. Only the shape is looked at, not
/// whether the date exists or the check character matches, so that messages err on the side
/// of hiding; `polku_engine::pseudonym::contains_identity_code` validates the shapes found here
/// before it refuses a line for one.
pub fn identity_code_shapes(text: &str) -> IdentityCodeShapes<'_> {
    IdentityCodeShapes { text, at: 0 }
}

/// One stretch of text shaped like a personal identity code: its byte offsets, and its century
/// sign when it has one. It holds no character of the code, so that it can be kept and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityCodeShape {
    /// Where the six date digits start.
    pub start: usize,
    /// Just after the check character. The individual number is the three bytes before it.
    pub end: usize,
    /// The century sign in upper case; `None` when there is none (nothing, a space or a dash
    /// other than `-` in its place), so the century is not known.
    pub century_sign: Option<u8>,
}

/// The iterator of [`identity_code_shapes`]: the shapes in order, none overlapping.
#[derive(Debug, Clone)]
pub struct IdentityCodeShapes<'a> {
    text: &'a str,
    at: usize,
}

/// Characters that people type, or word processors put, in place of the `-` century sign.
const DASHES: [char; 7] =
    ['\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2015}', '\u{2212}'];

impl Iterator for IdentityCodeShapes<'_> {
    type Item = IdentityCodeShape;

    fn next(&mut self) -> Option<IdentityCodeShape> {
        let b = self.text.as_bytes();
        let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
        while self.at < b.len() {
            let start = self.at;
            if !digit(start) || (start > 0 && digit(start - 1)) {
                self.at += 1;
                continue;
            }
            // A code starts only where a run of digits starts, so whatever happens the rest of
            // this run is skipped.
            let run = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
            self.at = start + run;
            let (century_sign, individual) = match run {
                6 => {
                    let after = start + 6;
                    let dash = self.text[after..].chars().next().filter(|c| DASHES.contains(c));
                    match (b.get(after), dash) {
                        (Some(&c), _) if b"+-YXWVUABCDEFyxwvuabcdef".contains(&c) => {
                            (Some(c.to_ascii_uppercase()), after + 1)
                        }
                        (Some(b' '), _) => (None, after + 1),
                        (_, Some(dash)) => (None, after + dash.len_utf8()),
                        _ => continue,
                    }
                }
                // Without a separator the individual number and a check digit continue the run.
                9 | 10 => (None, start + 6),
                _ => continue,
            };
            let check = individual + 3;
            let shaped = (individual..check).all(digit)
                && b.get(check).is_some_and(u8::is_ascii_alphanumeric)
                && !(digit(check) && digit(check + 1));
            if shaped {
                self.at = check + 1;
                return Some(IdentityCodeShape { start, end: check + 1, century_sign });
            }
        }
        None
    }
}

/// The text with everything shaped like a personal identity code replaced by `…`.
pub fn redact_identity_codes(text: &str) -> std::borrow::Cow<'_, str> {
    replace_identity_codes(text, |_| "…".to_owned())
}

/// The text with every character of what is shaped like a personal identity code replaced by
/// `•`, so that a source excerpt keeps its columns for the underline.
fn mask_identity_codes(text: &str) -> std::borrow::Cow<'_, str> {
    replace_identity_codes(text, |code| "•".repeat(code.chars().count()))
}

fn replace_identity_codes(
    text: &str,
    replacement: impl Fn(&str) -> String,
) -> std::borrow::Cow<'_, str> {
    let mut shapes = identity_code_shapes(text).peekable();
    if shapes.peek().is_none() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for shape in shapes {
        out.push_str(&text[copied..shape.start]);
        out.push_str(&replacement(&text[shape.start..shape.end]));
        copied = shape.end;
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

/// One diagnostic as tools read it: `polku check --format json` prints an array of these.
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub hints: Vec<String>,
}

pub fn to_json(diagnostics: &[Diagnostic], sources: &SourceSet, lang: Lang) -> Vec<JsonDiagnostic> {
    diagnostics
        .iter()
        .map(|d| {
            let file = sources.get(d.file);
            let start = file.line_column(d.span.start);
            let end = file.line_column(d.span.end);
            JsonDiagnostic {
                code: d.code.as_str(),
                severity: d.severity,
                message: d.message(lang),
                file: file.path.clone(),
                line: start.line,
                column: start.column,
                end_line: end.line,
                end_column: end.column,
                hints: d.hint_texts(lang),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_and_has_both_languages() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let entry = code.entry();
            assert!(seen.insert(entry.code), "{} twice", entry.code);
            assert!(!entry.en.is_empty() && !entry.fi.is_empty());
            assert_eq!(entry.hint_en.is_some(), entry.hint_fi.is_some(), "{}", entry.code);
            // Messages are lowercase and carry no trailing period.
            for text in [entry.en, entry.fi] {
                assert!(!text.ends_with('.'), "{}: {text}", entry.code);
                let first = text.chars().next().unwrap_or('a');
                assert!(!first.is_uppercase(), "{}: {text}", entry.code);
            }
            // Both languages use the same placeholders.
            let holes = |t: &str| {
                let mut names: Vec<String> = t
                    .split('{')
                    .skip(1)
                    .filter_map(|s| s.split_once('}').map(|(n, _)| n.to_owned()))
                    .filter(|n| n.chars().all(|c| c.is_ascii_lowercase()) && !n.is_empty())
                    .collect();
                names.sort();
                names
            };
            assert_eq!(holes(entry.en), holes(entry.fi), "{}", entry.code);
        }
    }

    fn shapes(text: &str) -> Vec<&str> {
        identity_code_shapes(text).map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn identity_code_shapes_are_found_as_people_type_them() {
        assert_eq!(shapes("asiakas 131052-308T ei saapunut"), ["131052-308T"]);
        assert_eq!(shapes("hetu131052-308T."), ["131052-308T"]);
        assert_eq!(shapes("(131052308T)"), ["131052308T"]);
        assert_eq!(shapes("131052-308U ja 010594y9021"), ["131052-308U", "010594y9021"]);
        assert_eq!(shapes("131052 308T"), ["131052 308T"]);
        assert_eq!(shapes("131052\u{2013}308T"), ["131052\u{2013}308T"]);
        assert_eq!(shapes("0105949021"), ["0105949021"]);
        assert_eq!(shapes("131052-308Tabc"), ["131052-308T"]);
        let found = identity_code_shapes("x 010516B903X").next().unwrap();
        assert_eq!((found.start, found.end, found.century_sign), (2, 13, Some(b'B')));
        assert_eq!(identity_code_shapes("131052308T").next().unwrap().century_sign, None);
        // Digits around it make it part of a longer number.
        for text in [
            "9131052-308T",
            "131052-30812",
            "99999999999",
            "131052-30",
            "2026-01-05T09:30:00+02:00",
            "131052_308T",
            "131052-308-",
            "äöå",
            "",
        ] {
            assert!(shapes(text).is_empty(), "{text}");
        }
        assert_eq!(redact_identity_codes("x 131052-308U ö"), "x … ö");
        assert!(matches!(redact_identity_codes("äöå"), std::borrow::Cow::Borrowed("äöå")));
        assert_eq!(mask_identity_codes("a 131052\u{2013}308T b"), "a ••••••••••• b");
    }

    #[test]
    fn locale_picks_finnish_only_for_fi() {
        assert_eq!(Lang::from_locale([None, None, Some("fi_FI.UTF-8")]), Lang::Fi);
        assert_eq!(Lang::from_locale([Some("C.UTF-8"), None, Some("fi_FI.UTF-8")]), Lang::En);
        assert_eq!(Lang::from_locale([Some(""), None, Some("fi_FI")]), Lang::Fi);
        assert_eq!(Lang::from_locale([None, None, None]), Lang::En);
    }
}
