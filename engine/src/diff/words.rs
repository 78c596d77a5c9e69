//! The words of a model's differences as a person reads them: one table, both languages.
//! `{segment}` and `{n}` are filled in where they stand.

use polku_dsl::ast::Channel;
use polku_dsl::Lang;

use super::{Attribute, Kind, Subject};

macro_rules! words {
    ($($name:ident: $en:literal, $fi:literal;)*) => {
        /// A word of the report of differences.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Word { $($name),* }

        impl Word {
            pub const ALL: &'static [Word] = &[$(Word::$name),*];

            pub fn say(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Word::$name, Lang::En) => $en, (Word::$name, Lang::Fi) => $fi,)*
                }
            }
        }
    };
}

words! {
    Level1: "Level 1: catalogue, roles and service chains", "Taso 1: palvelukatalogi, roolit ja palveluketjut";
    Level2: "Level 2: segmentations, assessment forms and marker rules", "Taso 2: segmentoinnit, arviointilomakkeet ja merkkisäännöt";
    Level3: "Level 3: client processes", "Taso 3: asiakasprosessit";
    Level4: "Level 4: workflows", "Taso 4: työnkulut";
    NoDifferences: "no differences", "ei eroja";
    OneChange: "1 change", "1 muutos";
    Changes: "{n} changes", "{n} muutosta";

    Added: "Added", "Lisätty";
    Removed: "Removed", "Poistettu";
    Changed: "Changed", "Muutettu";

    Organisation: "organisation", "organisaatio";
    Role: "role", "rooli";
    Fact: "fact", "tieto";
    Service: "service", "palvelu";
    Chain: "service chain", "palveluketju";
    Segmentation: "segmentation", "segmentointi";
    Axis: "axis", "akseli";
    Segment: "segment", "segmentti";
    Form: "assessment form", "arviointilomake";
    MarkerRules: "marker rules", "merkkisäännöt";
    Process: "process", "prosessi";
    Phase: "phase", "vaihe";
    Step: "step", "askel";
    Workflow: "workflow", "työnkulku";
    Lane: "lane", "kaista";
    Task: "task", "tehtävä";

    ContentAdded: "Added content for segment {segment}", "Lisätty sisältö segmentille {segment}";
    ContentRemoved: "Removed content of segment {segment}", "Poistettu segmentin {segment} sisältö";
    ContentChanged: "Changed content of segment {segment}", "Muutettu segmentin {segment} sisältöä";
    NowAdds: "Segment {segment} now adds step", "Segmentti {segment} lisää nyt askeleen";
    NoLongerAdds: "Segment {segment} no longer adds step", "Segmentti {segment} ei enää lisää askelta";
    AddsChanged: "Changed step segment {segment} adds", "Muutettu segmentin {segment} lisäämää askelta";
    NowRemoves: "Segment {segment} now removes step", "Segmentti {segment} poistaa nyt askeleen";
    NoLongerRemoves: "Segment {segment} no longer removes step", "Segmentti {segment} ei enää poista askelta";
    RemovesChanged: "Segment {segment} removes step for another reason", "Segmentti {segment} poistaa askeleen eri perustein";
    NowChanges: "Segment {segment} now changes step", "Segmentti {segment} muuttaa nyt askelta";
    NoLongerChanges: "Segment {segment} no longer changes step", "Segmentti {segment} ei enää muuta askelta";
    ChangesChanged: "Segment {segment} changes step differently", "Segmentti {segment} muuttaa askelta toisin";

    Title: "title", "nimi";
    Code: "code", "koodi";
    Law: "legal basis", "lakiperuste";
    Description: "description", "kuvaus";
    Provider: "provider", "tuottaja";
    ClientRole: "client role", "asiakasrooli";
    NumberFact: "numeric", "lukuarvoinen";
    Units: "units", "yksiköt";
    Values: "values", "arvot";
    Position: "position on the axes", "sijainti akseleilla";
    BasicStrategy: "basic strategy", "perusstrategia";
    Goal: "goal", "tavoite";
    Differences: "differences to the other segments", "erot muihin segmentteihin";
    ClientExperience: "what matters most to the client", "tärkeintä asiakaskokemuksessa";
    Emphases: "emphases", "painotukset";
    Services: "services", "palvelut";
    Paths: "paths", "polut";
    Referrals: "referrals", "ohjaukset";
    Order: "order", "järjestys";
    Flow: "flow", "kulku";
    ClientPhase: "the client's own phase", "asiakkaan vaihe";
    Milestone: "done when", "valmis kun";
    Roles: "performed by", "tekijät";
    Duration: "duration", "kesto";
    Count: "times", "määrä";
    Interval: "interval", "väli";
    Deadline: "deadline", "määräaika";
    Earliest: "not before", "aikaisintaan";
    Statutory: "statutory", "lakisääteinen";
    ChannelWord: "channel", "kanava";
    Required: "required", "pakollinen";
    Referral: "referral", "ohjaus";
    Guidance: "guidance", "ohje";
    AssessesSegment: "assesses the segment", "arvioi segmentin";
    Condition: "only if", "ehto";
    Per: "once for each", "toistuu";
    Responsible: "responsible worker", "vastuutyöntekijä";
    Reason: "reason", "perustelu";
    Optional: "optional", "valinnainen";
    Handoffs: "hand-offs", "luovutukset";
    Steps: "steps", "askeleet";
    Questions: "questions", "kysymykset";
    Items: "professional's items", "ammattilaisen arviot";
    Question: "question", "kysymys";
    Scoring: "scoring", "pisteytys";
    Retention: "rows kept", "säilytys";
    AssessmentValid: "assessment valid", "arvio voimassa";
    Rules: "rules", "säännöt";
    Otherwise: "otherwise", "muuten";

    Yes: "yes", "kyllä";
    No: "no", "ei";
    Start: "start", "alku";
    End: "end", "loppu";
    When: "when", "kun";
    WhenSegment: "when segment", "kun segmentti";
    Until: "until", "kunnes";
    Repeat: "repeated", "toistuu";
    Parallel: "in parallel", "rinnakkain";
    Visit: "visit", "käynti";
    Phone: "phone", "puhelin";
    Digital: "digital", "sähköinen";
    HomeVisit: "home visit", "kotikäynti";
    Group: "group", "ryhmä";
    Video: "video", "video";
}

impl Kind {
    pub fn word(self) -> Word {
        match self {
            Kind::Added => Word::Added,
            Kind::Removed => Word::Removed,
            Kind::Changed => Word::Changed,
        }
    }
}

impl Subject {
    /// The noun, for the subjects a report names as "added service", "removed step".
    pub fn word(self) -> Word {
        use Subject::*;
        match self {
            Organisation => Word::Organisation,
            Role => Word::Role,
            Fact => Word::Fact,
            Service => Word::Service,
            Chain => Word::Chain,
            Segmentation => Word::Segmentation,
            Axis => Word::Axis,
            Segment => Word::Segment,
            Form => Word::Form,
            MarkerRules => Word::MarkerRules,
            Process => Word::Process,
            Phase => Word::Phase,
            Step | SegmentAddedStep | SegmentRemovedStep | SegmentChangedStep => Word::Step,
            SegmentContent => Word::Segment,
            Workflow => Word::Workflow,
            Lane => Word::Lane,
            Task => Word::Task,
        }
    }

    /// The whole phrase, with `{segment}`, for what a segment's content does.
    pub fn segment_phrase(self, kind: Kind) -> Option<Word> {
        use Subject::*;
        Some(match (self, kind) {
            (SegmentContent, Kind::Added) => Word::ContentAdded,
            (SegmentContent, Kind::Removed) => Word::ContentRemoved,
            (SegmentContent, Kind::Changed) => Word::ContentChanged,
            (SegmentAddedStep, Kind::Added) => Word::NowAdds,
            (SegmentAddedStep, Kind::Removed) => Word::NoLongerAdds,
            (SegmentAddedStep, Kind::Changed) => Word::AddsChanged,
            (SegmentRemovedStep, Kind::Added) => Word::NowRemoves,
            (SegmentRemovedStep, Kind::Removed) => Word::NoLongerRemoves,
            (SegmentRemovedStep, Kind::Changed) => Word::RemovesChanged,
            (SegmentChangedStep, Kind::Added) => Word::NowChanges,
            (SegmentChangedStep, Kind::Removed) => Word::NoLongerChanges,
            (SegmentChangedStep, Kind::Changed) => Word::ChangesChanged,
            _ => return None,
        })
    }
}

impl Attribute {
    pub fn word(self) -> Word {
        use Attribute::*;
        match self {
            Title => Word::Title,
            Code => Word::Code,
            Law => Word::Law,
            Description => Word::Description,
            Provider => Word::Provider,
            ClientRole => Word::ClientRole,
            NumberFact => Word::NumberFact,
            Segmentation => Word::Segmentation,
            Units => Word::Units,
            Values => Word::Values,
            Position => Word::Position,
            BasicStrategy => Word::BasicStrategy,
            Goal => Word::Goal,
            Differences => Word::Differences,
            ClientExperience => Word::ClientExperience,
            Emphases => Word::Emphases,
            Services => Word::Services,
            Paths => Word::Paths,
            Referrals => Word::Referrals,
            Service => Word::Service,
            Order => Word::Order,
            Flow => Word::Flow,
            ClientPhase => Word::ClientPhase,
            Milestone => Word::Milestone,
            Phase => Word::Phase,
            Roles => Word::Roles,
            Duration => Word::Duration,
            Count => Word::Count,
            Interval => Word::Interval,
            Deadline => Word::Deadline,
            Earliest => Word::Earliest,
            Statutory => Word::Statutory,
            Channel => Word::ChannelWord,
            Required => Word::Required,
            Referral => Word::Referral,
            Guidance => Word::Guidance,
            AssessesSegment => Word::AssessesSegment,
            Condition => Word::Condition,
            Per => Word::Per,
            Responsible => Word::Responsible,
            Reason => Word::Reason,
            Lane => Word::Lane,
            Step => Word::Step,
            Optional => Word::Optional,
            Handoffs => Word::Handoffs,
            Steps => Word::Steps,
            Questions => Word::Questions,
            Items => Word::Items,
            Question => Word::Question,
            Scoring => Word::Scoring,
            Retention => Word::Retention,
            AssessmentValid => Word::AssessmentValid,
            Rules => Word::Rules,
            Otherwise => Word::Otherwise,
        }
    }
}

/// A channel in the reader's language; in Finnish, the model's own keyword.
pub fn channel(channel: Channel) -> Word {
    match channel {
        Channel::Visit => Word::Visit,
        Channel::Phone => Word::Phone,
        Channel::Digital => Word::Digital,
        Channel::HomeVisit => Word::HomeVisit,
        Channel::Group => Word::Group,
        Channel::Video => Word::Video,
    }
}

/// A step's attribute by the keyword that sets it, as a segment's `muuta` lists what it
/// changed (`kesto`, `kanava`: [`crate::plan::Origin::Changed`]), in the reader's language.
pub fn step_keyword(keyword: &str) -> Option<Word> {
    Some(match keyword {
        "aikaisintaan" => Word::Earliest,
        "jos" => Word::Condition,
        "kanava" => Word::ChannelWord,
        "kesto" => Word::Duration,
        "kuvaus" => Word::Description,
        "lakisääteinen" => Word::Statutory,
        "määrä" => Word::Count,
        "määräaika" => Word::Deadline,
        "ohjaus" => Word::Referral,
        "ohje" => Word::Guidance,
        "tekijä" => Word::Roles,
        "toistuu" => Word::Per,
        "väli" => Word::Interval,
        _ => return None,
    })
}

/// [`step_keyword`]'s word, or the keyword itself for one it does not know.
pub fn say_step_keyword(keyword: &str, lang: Lang) -> &str {
    step_keyword(keyword).map_or(keyword, |w| w.say(lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(text: &str) -> Vec<&str> {
        text.match_indices('{')
            .filter_map(|(at, _)| text[at..].split_once('}'))
            .map(|(p, _)| p)
            .collect()
    }

    #[test]
    fn both_languages_have_every_word_with_the_same_placeholders() {
        for &word in Word::ALL {
            let (en, fi) = (word.say(Lang::En), word.say(Lang::Fi));
            assert!(!en.is_empty() && !fi.is_empty(), "{word:?}");
            assert_eq!(placeholders(en), placeholders(fi), "{word:?}");
        }
    }

    #[test]
    fn every_attribute_a_segment_changes_has_its_words() {
        let source = include_str!("../plan.rs");
        let keywords: Vec<&str> = source
            .match_indices("changed.push(\"")
            .map(|(at, m)| source[at + m.len()..].split('"').next().unwrap_or_default())
            .collect();
        assert!(keywords.len() >= 13, "{keywords:?}");
        for keyword in keywords {
            let word = step_keyword(keyword).unwrap_or_else(|| panic!("`{keyword}` has no word"));
            assert_ne!(word.say(Lang::En), keyword);
        }
    }

    #[test]
    fn the_finnish_channels_are_the_model_keywords() {
        for &keyword in Channel::WORDS {
            let parsed = Channel::parse(keyword).expect("a channel keyword");
            assert_eq!(channel(parsed).say(Lang::Fi), keyword);
        }
    }
}
