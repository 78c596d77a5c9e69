//! The words the maps and pages add to the model's own: one table, both languages.

use polku_dsl::Lang;

macro_rules! words {
    ($($name:ident: $en:literal, $fi:literal;)*) => {
        /// A word of the maps' and pages' chrome.
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
    AppName: "Polku process maps", "Polku-prosessikartat";
    ServiceMap: "Service map", "Palvelukartta";
    Catalogue: "Service catalogue", "Palvelukatalogi";
    NotInChain: "Services outside the chains", "Palveluketjujen ulkopuoliset palvelut";
    Chains: "Service chains", "Palveluketjut";
    Chain: "Service chain", "Palveluketju";
    Services: "Services", "Palvelut";
    Service: "Service", "Palvelu";
    Segmentation: "Segmentation", "Segmentointi";
    Segmentations: "Segmentations", "Segmentoinnit";
    Segment: "Segment", "Segmentti";
    Segments: "Segments", "Segmentit";
    Processes: "Client processes", "Asiakasprosessit";
    Process: "Client process", "Asiakasprosessi";
    Workflows: "Workflows", "Työnkulut";
    Workflow: "Workflow", "Työnkulku";
    Phase: "Phase", "Vaihe";
    Phases: "Phases", "Vaiheet";
    Step: "Step", "Askel";
    Steps: "Steps", "Askeleet";
    Task: "Task", "Tehtävä";
    Lane: "Lane", "Kaista";
    Referral: "referral", "ohjaus";
    Referrals: "Referrals", "Ohjaukset";
    ReferralFromStep: "referral step", "ohjausaskel";
    Generic: "Generic process", "Geneerinen prosessi";
    AllSegments: "every segment", "kaikki segmentit";
    ClientPhase: "the client's phase", "asiakkaan vaihe";
    ClientLane: "client", "asiakas";
    Done: "done when", "valmis";
    Optional: "optional", "valinnainen";
    Statutory: "statutory", "lakisääteinen";
    Added: "added for the segment", "lisätty segmentille";
    Changed: "changed for the segment", "muutettu segmentille";
    Removed: "not in this segment's plan", "ei tämän segmentin suunnitelmassa";
    Responsible: "Responsible worker", "Vastuutyöntekijä";
    Otherwise: "otherwise", "muuten";
    Deadline: "due", "määräaika";
    NotBefore: "not before", "aikaisintaan";
    PregnancyWeek: "Week of pregnancy", "Raskausviikko";
    CaseFacts: "Facts of the case", "Tapauksen tiedot";
    OnlyIf: "only if", "vain jos";
    OncePer: "once for each:", "kerran kutakin kohti:";
    AssessedHere: "the segment is assessed here", "segmentti arvioidaan tässä";
    Condition: "if", "kun";
    Repeat: "repeat", "toista";
    Until: "until", "kunnes";
    Start: "start", "alku";
    End: "end", "loppu";
    Handoffs: "Hand-offs", "Luovutukset";
    PerformsStep: "carries out", "toteuttaa";
    Every: "every", "välein";
    Times: "times", "kertaa";
    Need: "need for help", "avun tarve";
    Resources: "resources", "voimavarat";
    NoPosition: "not placed on the axes", "ei sijoitettu akseleille";
    BasicStrategy: "Basic strategy", "Perusstrategia";
    Goal: "Goal", "Tavoite";
    Differences: "Differences from the others", "Erot muihin";
    ClientExperience: "What matters most in the client experience", "Tärkeintä asiakaskokemuksessa";
    Description: "Description", "Kuvaus";
    Emphases: "Emphases", "Painotukset";
    Legend: "Legend", "Selite";
    Search: "Search", "Haku";
    SearchLabel: "Search the model by name or title", "Hae mallista nimellä tai otsikolla";
    SearchResults: "Search results", "Hakutulokset";
    NoResults: "Nothing matches", "Ei osumia";
    NotFoundTitle: "Not found", "Ei löytynyt";
    NotFoundSearch: "Search the model instead", "Hae mallista";
    Language: "Suomeksi", "In English";
    OpenCases: "Open cases now", "Avoimet tapaukset nyt";
    OpenCasesNone: "No open cases", "Ei avoimia tapauksia";
    MultiUnit: "Clients served by several units at once", "Useamman yksikön asiakkaat yhtä aikaa";
    UnitPair: "Units", "Yksiköt";
    Clients: "Clients", "Asiakkaita";
    TextAlternative: "The map as a list", "Kartta luettelona";
    Show: "Show", "Näytä";
    ModelErrors: "The model does not check: the maps show the last good version once it checks again", "Malli ei läpäise tarkistusta: kartat näytetään, kun virheet on korjattu";
    Hint: "hint", "vihje";
    Of: "of", "/";
    PerformedBy: "by", "tekijä";
    ReferralTo: "referral to", "ohjaus";
    Demo: "demo data", "esimerkkiaineisto";
    Rendering: "Drawing the map…", "Piirretään karttaa…";
    FitWidth: "Fit the map to the page's width", "Sovita kartta sivun leveyteen";
    RenderFailed: "The map could not be drawn", "Karttaa ei voitu piirtää";
    StaffPage: "Client status", "Asiakkaan tilanne";
    AssessmentForm: "Assessment form", "Arviointilomake";
    CreateLink: "Create a link to the form", "Luo linkki lomakkeeseen";
    LinkMade: "Give this link to the client: it works once, for 30 minutes, and only for this case.", "Anna tämä linkki asiakkaalle: se toimii kerran, 30 minuutin ajan ja vain tälle tapaukselle.";
    NoForm: "No assessment form belongs to this case's process", "Tapauksen prosessiin ei kuulu arviointilomaketta";
    LinkGone: "This link has been used or has expired. Ask for a new one at the clinic.", "Linkki on jo käytetty tai vanhentunut. Pyydä uusi vastaanotolta.";
    FormIntro: "Answer the questions you want to; you can leave any of them empty. Your answers are gone through together at the visit and are not kept after it.", "Vastaa niihin kysymyksiin, joihin haluat; voit jättää minkä tahansa tyhjäksi. Vastaukset käydään läpi yhdessä käynnillä, eikä niitä säilytetä sen jälkeen.";
    Send: "Send", "Lähetä";
    Thanks: "Thank you. Your answers have reached the clinic.", "Kiitos. Vastauksesi ovat perillä vastaanotolla.";
    AnswerIf: "Answer if you answered", "Vastaa, jos vastasit";
    NotAnAnswer: "Choose one of the answers given", "Valitse jokin annetuista vastauksista";
    FormErrors: "Some answers could not be read", "Kaikkia vastauksia ei voitu lukea";
    AwaitingAnswers: "The form waits for the client's answers", "Lomake odottaa asiakkaan vastauksia";
    ReviewAnswers: "Go through the answers", "Käy vastaukset läpi";
    ClientAnswers: "The client's answers", "Asiakkaan vastaukset";
    ProfessionalPart: "The professional's part", "Ammattilaisen osa";
    Proposal: "Proposed segment", "Ehdotettu segmentti";
    DrivenBy: "from the answers", "vastauksista";
    Undecided: "not decided by the answers", "vastaukset eivät ratkaise";
    Guidance: "Guidance", "Ohje";
    ConfirmSegment: "Confirm the segment", "Vahvista segmentti";
    OverrideReason: "Reason (needed when the segment differs from the proposal)", "Perustelu (pakollinen, jos segmentti poikkeaa ehdotuksesta)";
    OverrideNeedsReason: "A segment other than the proposal needs a reason", "Ehdotuksesta poikkeava segmentti tarvitsee perustelun";
    AnswersWiped: "The segment was recorded and the answers were discarded", "Segmentti kirjattiin ja vastaukset hävitettiin";
    AnswersKept: "The segment was recorded; the answers are kept encrypted until", "Segmentti kirjattiin; vastaukset säilytetään salattuina päivään";
    KeptAnswers: "Kept answers", "Säilytetyt vastaukset";
    KeptUntil: "deleted on", "poistetaan";
    FormChanged: "The form has changed since: these answers can no longer be shown beside its questions", "Lomake on sittemmin muuttunut: näitä vastauksia ei voi enää näyttää sen kysymysten rinnalla";
    BackToClient: "Back to the client", "Takaisin asiakkaaseen";
    AnswersUnreadable: "These answers cannot be opened (another key, or the stored row was changed)", "Näitä vastauksia ei voi avata (eri avain, tai tallennettua riviä on muutettu)";
    NoAnswer: "no answer", "ei vastausta";
    SignIn: "Sign in", "Kirjaudu";
    SignOut: "Sign out", "Kirjaudu ulos";
    TokenLabel: "Sign-in token", "Kirjautumistunniste";
    SignInHelp: "Staff sign in with the token given to them (the demo prints one on the server's terminal).", "Työntekijä kirjautuu saamallaan tunnisteella (esittely tulostaa sellaisen palvelimen päätteelle).";
    SignedInAs: "Signed in as", "Kirjautunut";
    ClientLabel: "Client: personal identity code or pseudonym", "Asiakas: henkilötunnus tai pseudonyymi";
    PurposeLabel: "Why you look at the client's data (logged)", "Miksi katsot asiakkaan tietoja (kirjataan lokiin)";
    LookUp: "Show the status", "Näytä tilanne";
    PlannedComplete: "Planned service complete", "Suunniteltu palvelu toteutunut";
    Yes: "Yes", "Kyllä";
    No: "No", "Ei";
    Missing: "Still missing", "Vielä puuttuu";
    NothingMissing: "Nothing is missing", "Mitään ei puutu";
    State: "State", "Tila";
    DeadlineTitle: "Deadline", "Määräaika";
    By: "By", "Tekijä";
    RecordEvent: "Record what was done", "Kirjaa tehty";
    StepDone: "Step done", "Askel tehty";
    StepNotNeeded: "Step not needed", "Askel ei tarpeen";
    SegmentChanged: "Segment changed", "Segmentti muuttui";
    Reason: "Reason", "Syy";
    ReasonCode: "Reason code (needed for a statutory step)", "Syykoodi (lakisääteiselle askeleelle pakollinen)";
    NewSegment: "New segment", "Uusi segmentti";
    WhatHappened: "What happened", "Mitä tapahtui";
    Save: "Save", "Tallenna";
    Recorded: "Recorded", "Kirjattu";
    NotRecorded: "Not recorded", "Ei kirjattu";
    ModelVersion: "Model version", "Mallin versio";
    Migrated: "Moved to model version", "Siirretty mallin versioon";
    WhyThisPlan: "Why this plan", "Miksi tämä suunnitelma";
    OnDate: "On the date", "Päivänä";
    AllSteps: "All steps", "Kaikki askeleet";
    SegmentDecided: "Segment decided", "Segmentin päätös";
    DecidedOpened: "given when the case was opened", "annettu tapausta avattaessa";
    DecidedAssessed: "assessed", "arvioitu";
    DecidedChanged: "changed", "muutettu";
    DecidedBy: "by", "päättäjä";
    PlannedStep: "Planned", "Suunniteltu";
    InGeneric: "In the generic process", "Yleisessä prosessissa";
    SegmentContent: "The segment's content", "Segmentin sisältö";
    ContentNone: "none", "ei muutosta";
    ContentAdded: "adds it", "lisää sen";
    ContentChanged: "changes", "muuttaa";
    ContentRemoved: "leaves it out", "poistaa sen";
    FactCondition: "Condition", "Ehto";
    OnlyIfNot: "only if not", "vain jos ei";
    Holds: "holds", "pätee";
    DoesNotHold: "does not hold", "ei päde";
    DoneByThen: "Done by then", "Tehty siihen mennessä";
    NoCaseThen: "The client had no case in your units on that date", "Asiakkaalla ei ollut sinä päivänä tapausta yksiköissäsi";
    Opened: "Opened", "Avattu";
    NowIn: "Now in", "Nyt vaiheessa";
    NoCases: "This client has no cases in your units", "Asiakkaalla ei ole tapauksia yksiköissäsi";
    StoreUnavailable: "The database does not answer just now: nothing was shown or recorded; try again in a moment", "Tietokanta ei juuri nyt vastaa: mitään ei näytetty eikä kirjattu; yritä hetken kuluttua uudelleen";
    SignInFailed: "The token is not valid for staff", "Tunniste ei kelpaa työntekijälle";
    SessionOver: "Your session has ended: sign in again", "Istunto on päättynyt: kirjaudu uudelleen";
    SignInWithProvider: "Sign in with your organisation's account", "Kirjaudu organisaation tunnuksilla";
    OrWithToken: "Or sign in with a token", "Tai kirjaudu tunnisteella";
    ProviderFailed: "Sign-in through the identity provider did not succeed", "Kirjautuminen tunnistuspalvelun kautta ei onnistunut";
    ProviderUnreachable: "The identity provider cannot be reached just now: try again in a moment", "Tunnistuspalveluun ei juuri nyt saada yhteyttä: yritä hetken kuluttua uudelleen";
    SignInExpired: "The sign-in took too long or was already used: start again", "Kirjautuminen kesti liian kauan tai se on jo käytetty: aloita alusta";
    NotStaff: "Your account has no staff role in this service", "Tunnuksellasi ei ole tämän palvelun työntekijän roolia";
    SignedInContinue: "You are signed in. Continue to the staff page", "Olet kirjautunut. Jatka työntekijän sivulle";
    BadClient: "Not a valid personal identity code or pseudonym", "Ei kelvollinen henkilötunnus tai pseudonyymi";
    PurposeNeeded: "Say why you look at the client's data", "Kerro, miksi katsot asiakkaan tietoja";
    Pseudonym: "Pseudonym", "Pseudonyymi";
    Case: "Case", "Tapaus";
    Unit: "Unit", "Yksikkö";
}
