//! The command line's help in Finnish. The English help comes from the doc comments on the
//! argument types in `main.rs`; this module replaces each text with its Finnish one, and the
//! headings clap writes, so that a process owner reads the whole help in Finnish.
//!
//! clap makes its help flags (`-h`, `--help`) only in English, so the Finnish ones are
//! arguments made here. Turning clap's own off is a setting clap hands down to every
//! subcommand, while an argument belongs to the one command it is added to: the Finnish flags
//! are therefore added to every command of the tree, walked from the root ([`everywhere`]),
//! never command by command, so that no subcommand is ever left without a help flag.

use clap::{Arg, ArgAction, Command};

const ROOT_ABOUT: &str = "Perhekeskuspalvelujen prosessimallit: tarkista, muotoile ja suunnittele";

const TEMPLATE: &str = "\
{about-with-newline}
Käyttö: {usage}

{all-args}{after-help}";

/// The template, headings and help flags of one command. clap makes its own help flags only
/// when it builds the command, so the Finnish ones are made here.
fn common(command: Command) -> Command {
    let command = if command.has_subcommands() {
        command.subcommand_help_heading("Komennot").subcommand_value_name("KOMENTO")
    } else {
        command
    };
    command
        .mut_args(|a| {
            let heading = if a.is_positional() { "Argumentit" } else { "Valitsimet" };
            let a = a.help_heading(heading);
            // The Finnish help texts name the values themselves.
            if a.get_action().takes_values() {
                a.hide_possible_values(true)
            } else {
                a
            }
        })
        .help_template(TEMPLATE)
        .disable_help_flag(true)
        .disable_help_subcommand(true)
        .next_help_heading("Valitsimet")
        .arg(Arg::new("help").short('h').action(ArgAction::Help).help("Näytä lyhyt ohje"))
        .arg(Arg::new("help_long").long("help").action(ArgAction::HelpLong).help("Näytä koko ohje"))
}

/// [`common`] for `command` and every command under it, at every depth.
fn everywhere(command: Command) -> Command {
    let names: Vec<String> = command.get_subcommands().map(|c| c.get_name().to_owned()).collect();
    names.iter().fold(common(command), |command, name| command.mut_subcommand(name, everywhere))
}

/// The options every command that touches the store takes, in Finnish.
fn store_args(command: Command) -> Command {
    command
        .mut_arg("model", |a| a.help("Mallin kansio (jossa on polku.toml). Oletus: työkansion tai sen yläpuolinen malli"))
        .mut_arg("database", |a| {
            a.help("Tietokanta: sqlite://POLKU (tai pelkkä tiedoston POLKU) tai postgres://KÄYTTÄJÄ@PALVELIN:PORTTI/KANTA. Oletus: polku.toml:n [database] url, muuten sqlite://data/polku.sqlite")
        })
        .mut_arg("role", |a| a.help("Rooli, jossa toimit (käyttölokia varten)"))
        .mut_arg("purpose", |a| a.help("Miksi katsot asiakkaan tietoja (käyttölokia varten)"))
        .mut_arg("allow_insecure_key", |a| a.help("Käytä avaintiedostoa, jonka muut käyttäjät voivat lukea"))
        .mut_arg("note", |a| {
            a.help("Mitä tämä malliversio muutti; tallennetaan version mukana, kun se tallennetaan ensimmäisen kerran (polku.toml:n [model] note -kohdan sijaan)")
        })
}

/// The help in Finnish.
pub fn finnish(command: Command) -> Command {
    let command = command
        .about(ROOT_ABOUT)
        .disable_version_flag(true)
        .arg(Arg::new("version").short('V').long("version").action(ArgAction::Version).help("Näytä versio"))
        .mut_arg("lang", |a| {
            a.help("Viestien kieli: fi tai en. Oletus: suomi fi_*-lokaaleilla, muuten englanti")
                .help_heading("Valitsimet")
                .hide_possible_values(true)
        })
        .mut_subcommand("check", |c| {
            c
                .about("Tarkista mallit: kaikki kielen ja mallin ongelmat kerralla")
                .long_about(
                    "Tarkista mallit: kaikki kielen ja mallin ongelmat kerralla.\n\n\
                     Paluuarvo 0, kun virheitä ei ole (varoitukset sallitaan), 1, kun virheitä on, \
                     ja 2 käyttö- tai sisäisessä virheessä.",
                )
                .mut_arg("paths", |a| a.help("Tiedostot tai kansiot. Kansio, jossa on polku.toml, on yksi malli"))
                .mut_arg("format", |a| a.help("Tulosteen muoto: human (ihmiselle) tai json (työkaluille)"))
        })
        .mut_subcommand("diff", |c| {
            c
                .about("Näytä, mitä mallin kahden version välillä muuttui, prosessinomistajan sanoin")
                .long_about(
                    "Näytä, mitä mallin kahden version välillä muuttui, prosessinomistajan sanoin.\n\n\
                     VANHA ja UUSI ovat kumpikin mallin kansio, git-versio muodossa REVISIO:POLKU \
                     (esimerkiksi HEAD~1:processes/keusote, luetaan gitillä työkansion \
                     versionhallinnasta) tai tietokannan tallentama versio: @N numerollaan, \
                     @TIIVISTE tiivisteensä alulla. Paluuarvo 0, kun versiot eivät eroa, 1, kun ne \
                     eroavat, ja 2, kun versiota ei voi lukea tai siinä on virheitä.",
                )
                // Under a heading of its own clap sorts arguments by name unless told the order.
                .mut_arg("old", |a| a.value_name("VANHA").display_order(0).help("Vanhempi versio"))
                .mut_arg("new", |a| a.value_name("UUSI").display_order(1).help("Uudempi versio"))
                .mut_arg("database", |a| {
                    a.help("Tallennettujen versioiden (@N) tietokanta: sqlite://POLKU (tai pelkkä POLKU) tai postgres://…. Oletus: työkansion tai sen yläpuolisen mallin polku.toml:n [database] url, muuten sqlite://data/polku.sqlite")
                })
                .mut_arg("format", |a| a.help("Tulosteen muoto: human (ihmiselle) tai json (työkaluille)"))
        })
        .mut_subcommand("plan", |c| {
            c
                .about("Näytä prosessin suunniteltu palvelu segmenteittäin")
                .long_about(
                    "Näytä prosessin suunniteltu palvelu segmenteittäin.\n\n\
                     Valitsimella --segment yhden segmentin suunnitelma; ilman sitä kaikki segmentit \
                     rinnakkain: mitä kukin lisää (+), muuttaa (*) tai jättää pois (–).",
                )
                .mut_arg("process", |a| a.help("Prosessin nimi"))
                .mut_arg("segment", |a| a.help("Segmentin nimi"))
                .mut_arg("model", |a| {
                    a.help("Mallin kansio (jossa on polku.toml). Oletus: työkansion tai sen yläpuolinen malli")
                })
                .mut_arg("format", |a| a.help("Tulosteen muoto: table (taulukko) tai json"))
        })
        .mut_subcommand("assess", |c| {
            c
                .about("Pisteytä täytetty arviointilomake ja ehdota segmenttiä")
                .long_about(
                    "Pisteytä täytetty arviointilomake ja ehdota segmenttiä.\n\n\
                     Vastaukset ovat JSON-olio kysymysten nimistä ja vastauksista (asteikon luku, \
                     true tai false, vaihtoehto tai vaihtoehtojen lista), kun lomake on täytetty \
                     paperilla tai toisessa järjestelmässä. Tulostaa kunkin akselin arvon, siihen \
                     vaikuttaneet vastaukset ja segmentin.",
                )
                .mut_arg("form", |a| a.help("Lomakkeen nimi"))
                .mut_arg("answers", |a| a.help("Vastaukset: JSON-tiedosto; - tarkoittaa vakiosyötettä"))
                .mut_arg("model", |a| {
                    a.help("Mallin kansio (jossa on polku.toml). Oletus: työkansion tai sen yläpuolinen malli")
                })
                .mut_arg("format", |a| a.help("Tulosteen muoto: table (taulukko) tai json"))
        })
        .mut_subcommand("explain", |c| {
            store_args(c)
                .about("Miksi asiakkaan palvelu suunniteltiin niin kuin suunniteltiin tiettynä päivänä")
                .long_about(
                    "Miksi asiakkaan palvelu suunniteltiin niin kuin suunniteltiin tiettynä päivänä.\n\n\
                     Jokaisesta asiakkaan silloisesta tapauksesta: malliversio, jonka mukaan se \
                     eteni, segmentti ja kuka sen päätti, ja jokaisesta askeleesta (tai --step-\
                     valitsimen nimeämästä) oliko se suunniteltu, onko se yleisessä prosessissa, \
                     mitä segmentin sisältö teki sille ja mikä tapauksen tietoja koskeva ehto päti. \
                     Tarkastelu kirjataan lokiin.",
                )
                .mut_arg("client", |a| a.help("Asiakas: henkilötunnus tai pseudonyymi"))
                .mut_arg("date", |a| a.help("Päivä (VVVV-KK-PP), sellaisena kuin se päättyi"))
                .mut_arg("step", |a| a.help("Vain tämä askel"))
                .mut_arg("format", |a| a.help("Tulosteen muoto: table (taulukko) tai json"))
        })
        .mut_subcommand("migrate", |c| {
            store_args(c)
                .about("Siirrä avoimet tapaukset toiseen malliversioon; --dry-run näyttää ensin, mitä tapahtuisi")
                .long_about(
                    "Siirrä avoimet tapaukset toiseen malliversioon; --dry-run näyttää ensin, mitä \
                     tapahtuisi.\n\n\
                     Ilman --to-valitsinta nyt ladattuun malliin. Prosessin, segmentin ja \
                     lähtöversion mukaan: montako avointa tapausta siirtyy ja mitkä suunnitellut \
                     askeleet ne saavat tai menettävät; tapaukset, joiden kohtaa ei siinä versiossa \
                     enää ole, jäävät paikalleen syineen. Jokainen siirto tallennetaan tapahtumana \
                     tapauksen historiaan; takaisin siirretään siirtämällä lähtöversioon.",
                )
                .mut_arg("to", |a| a.help("Versio: @N (sen numero tietokannassa) tai vähintään kuusi merkkiä sen tiivisteestä"))
                .mut_arg("dry_run", |a| a.help("Näytä, mitä siirtyisi, siirtämättä mitään"))
                .mut_arg("format", |a| a.help("Tulosteen muoto: table (taulukko) tai json"))
        })
        .mut_subcommand("segment-daily", |c| {
            store_args(c)
                .about("Merkkien päivän segmenttiehdotukset asiakastietojärjestelmien poiminnasta")
                .long_about(
                    "Merkkien päivän segmenttiehdotukset asiakastietojärjestelmien poiminnasta.\n\n\
                     Poiminta on CSV:tä (asiakas,päivä,koodisto,koodi) tai JSON Lines -rivejä \
                     samoin kentin; asiakas on henkilötunnus tai pseudonyymi. Virheelliset rivit \
                     kerrotaan rivinumeroineen ja ohitetaan. Ehdotukset tallennetaan päivittäin; \
                     saman päivän uusi ajo ei muuta mitään, ja päivät voi ajaa missä järjestyksessä \
                     tahansa. Tulostaa, miten poiminnan asiakkaat jakautuvat segmentteihin sinä \
                     päivänä, ja ketkä siirtyivät edellisestä ajopäivästä.",
                )
                .mut_arg("extract", |a| a.help("Poiminta; - tarkoittaa vakiosyötettä"))
                .mut_arg("date", |a| a.help("Päivä (VVVV-KK-PP)"))
                .mut_arg("from", |a| a.help("Aiempi päivä: myös asiakkaat, joiden ehdotettu segmentti muuttui päivien välillä"))
                .mut_arg("markers", |a| a.help("Merkkisääntöjen nimi (tarpeen, jos mallissa on useita)"))
                .mut_arg("dry_run", |a| a.help("Laske ja tulosta ehdotukset tallentamatta niitä"))
                .mut_arg("allow_refused", |a| a.help("Tallenna hyvien rivien ehdotukset, vaikka osa riveistä hylättiin (oletuksena hylättyjen rivien ajo ei tallenna mitään)"))
                .mut_arg("format", |a| a.help("Tulosteen muoto: table (taulukko) tai json"))
        })
        .mut_subcommand("export", |c| {
            c.about("Vie mallin kulut muille työkaluille").mut_subcommand("pnml", |p| {
                p
                    .about("Jokainen prosessin, vaiheen ja työnkulun kulku PNML-työnkulkuverkkona sekä verdicts.json")
                    .mut_arg("model", |a| a.help("Mallin kansio (jossa on polku.toml)"))
                    .mut_arg("out", |a| a.help("Kansio, johon kirjoitetaan (luodaan tarvittaessa)"))
            })
        })
        .mut_subcommand("render", |c| {
            c
                .about("Piirrä mallin kartta: taso 1 (palvelut ja ketjut), 2 (segmentointi), 3 (prosessi) tai 4 (työnkulun uimaradat)")
                .long_about(
                    "Piirrä mallin kartta: taso 1 (palvelut ja palveluketjut), 2 (segmentointi), \
                     3 (prosessi, valinnaisesti yhden segmentin suunnitelmana) tai 4 (työnkulun uimaradat).\n\n\
                     Tasoista 1-3 DOT; jokaisesta tasosta SVG (tasojen 1-3 SVG tarvitsee Graphvizin dot-ohjelman).",
                )
                .mut_arg("model", |a| a.help("Mallin kansio. Oletus: työkansion tai sen yläpuolinen malli"))
                .mut_arg("level", |a| a.help("Taso: 1, 2, 3 tai 4"))
                .mut_arg("process", |a| a.help("Taso 3: prosessi"))
                .mut_arg("segment", |a| a.help("Taso 3: segmentti, jonka suunnitelma piirretään"))
                .mut_arg("segmentation", |a| {
                    a.help("Taso 2: segmentointi. Oletus: annetun prosessin tai mallin ainoa segmentointi")
                })
                .mut_arg("workflow", |a| a.help("Taso 4: työnkulku (prosessi.vaihe tai prosessi.vaihe.askel)"))
                .mut_arg("format", |a| a.help("Muoto: svg tai dot"))
                .mut_arg("out", |a| a.help("Kirjoita tähän tiedostoon vakiotulosteen sijaan"))
        })
        .mut_subcommand("serve", |c| {
            c
                .about("Näytä prosessikartat selaimessa ja avoimet tapaukset niiden päällä")
                .long_about(
                    "Näytä prosessikartat selaimessa ja avoimet tapaukset niiden päällä.\n\n\
                     Tarkistaa mallin ensin eikä käynnisty, jos siinä on virheitä.",
                )
                .mut_arg("model", |a| a.help("Mallin kansio. Oletus: työkansion tai sen yläpuolinen malli"))
                .mut_arg("database", |a| {
                    a.help("Tietokanta: sqlite://POLKU (tai pelkkä tiedoston POLKU) tai postgres://KÄYTTÄJÄ@PALVELIN:PORTTI/KANTA. Oletus: polku.toml:n [database] url, muuten sqlite://data/polku.sqlite")
                })
                .mut_arg("role", |a| a.help("Rooli, jossa toimit (käyttölokia varten)"))
                .mut_arg("purpose", |a| a.help("Miksi katsot asiakkaan tietoja (käyttölokia varten)"))
                .mut_arg("allow_insecure_key", |a| a.help("Käytä avaintiedostoa, jonka muut käyttäjät voivat lukea"))
                .mut_arg("listen", |a| a.help("Osoite, jota kuunnellaan; portti 0 valitsee vapaan"))
                .mut_arg("watch", |a| {
                    a.help("Tarkista malli uudelleen aina, kun tiedosto muuttuu; virheet näkyvät sivuilla")
                })
                .mut_arg("demo", |a| a.help("Täytä tyhjä tietokanta ensin simuloidulla vuodella"))
                .mut_arg("demo_clients", |a| a.help("Simuloitavien lasten määrä (oletus 43 000); sisältää --demo"))
                .mut_arg("renderer", |a| {
                    a.help("Missä kartat piirretään: auto, server (Graphvizin dot) tai browser (selaimessa)")
                })
        })
        .mut_subcommand("ingest", |c| {
            store_args(c)
                .about("Tallenna tapahtumat (JSON Lines) tietokantaan: virheelliset rivit nimetään, hyvät säilytetään")
                .mut_arg("file", |a| a.help("Tapahtumatiedosto; - lukee vakiosyötteen"))
                .mut_arg("batch", |a| a.help("Tapahtumia erässä; yhtä aikaa odottavat erät jakavat tallennuksen"))
                .mut_arg("format", |a| a.help("Tulosteen muoto: human tai json"))
        })
        .mut_subcommand("status", |c| {
            store_args(c)
                .about("Asiakkaan tapaukset: segmentti, vaihe, suunnitellut askeleet ja määräajat; käyttö kirjataan lokiin")
                .mut_arg("client", |a| a.help("Henkilötunnus tai pseudonyymi"))
                .mut_arg("as_of", |a| a.help("Arvioi määräajat tänä päivänä tämän päivän sijaan"))
                .mut_arg("format", |a| a.help("Tulosteen muoto: human tai json"))
        })
        .mut_subcommand("report", |c| {
            store_args(c)
                .about("Raportit kaikista tapauksista: segmentit, siirtymät, toteutuminen")
                .mut_arg("format", |a| a.help("Tulosteen muoto: human tai json"))
                .mut_subcommand("segments", |s| {
                    s.about("Kuinka monta avointa tapausta kussakin segmentissä on annettuna päivänä, segmentoinneittain ja yksiköittäin")
                        .mut_arg("date", |a| a.help("Päivä, jonka tilanne lasketaan"))
                        .mut_arg("by_source", |a| a.help("Laske asiakkaat tapausten sijaan sen mukaan, mistä segmentti tuli: ammattilaisen arvio, merkkisäännöt (polku segment-daily) tai käsin asetettu"))
                        .mut_arg("markers", |a| a.help("Valitsimen --by-source kanssa: merkkisääntöjen nimi (tarpeen, jos mallissa on useita)"))
                })
                .mut_subcommand("transitions", |s| {
                    s.about("Miten tapaukset siirtyivät segmentistä toiseen päivästä toiseen")
                        .mut_arg("from", |a| a.help("Ensimmäinen päivä"))
                        .mut_arg("to", |a| a.help("Viimeinen päivä"))
                        .mut_arg("by_source", |a| a.help("Laske asiakkaat tapausten sijaan sen mukaan, mistä viimeisen päivän segmentti tuli"))
                        .mut_arg("markers", |a| a.help("Valitsimen --by-source kanssa: merkkisääntöjen nimi (tarpeen, jos mallissa on useita)"))
                })
                .mut_subcommand("completion", |s| {
                    s.about("Osuus tapauksista, joiden suunniteltu palvelu on toteutunut, ja myöhässä olevat askeleet rooleittain")
                        .mut_arg("as_of", |a| a.help("Päivä, jonka mukaan määräajat arvioidaan. Oletus: nyt"))
                })
        })
        .mut_subcommand("simulate", |c| {
            c
                .about("Tuota realistinen synteettinen tapahtumavirta pelaamalla mallia eteenpäin")
                .mut_arg("model", |a| a.help("Mallin kansio"))
                .mut_arg("clients", |a| a.help("Lasten määrä"))
                .mut_arg("days", |a| a.help("Päivien määrä"))
                .mut_arg("seed", |a| a.help("Satunnaisluvun siemen"))
                .mut_arg("start", |a| a.help("Ensimmäinen päivä"))
                .mut_arg("out", |a| a.help("Kirjoita tähän vakiotulosteen sijaan"))
        })
        .mut_subcommand("store", |c| {
            store_args(c)
                .about("Tietokanta: tiedot, tilannevedos, käyttöloki, muutosten tarkistus")
                .mut_subcommand("info", |s| {
                    s.about("Tietokannan skeemaversio, lokin pituus, tilannevedos ja tilan tiiviste")
                })
                .mut_subcommand("snapshot", |s| {
                    s.about("Kirjoita tilannevedos nyt, jotta seuraava käynnistys lukee vähemmän lokia")
                })
                .mut_subcommand("retain", |s| {
                    s.about("Poista asiakastiedot tapauksista, jotka päättyivät kauemmin sitten kuin polku.toml:n [retention] ne säilyttää: tapahtumat poistuvat, raporttien jakaumat ja siirtymät säilyvät ennallaan (päivätason segmenttihistorioina ilman tunnisteita), asiakkaat, joilla ei jää tapauksia, poistuvat, samoin omaa aikaansa vanhemmat käyttölokin rivit. Tapahtumaloki ja käyttöloki ketjutetaan uudelleen; viimeisimmät tiivisteet ennen ja jälkeen kirjataan.")
                        .mut_arg("as_of", |a| a.help("Tämän päivän (VVVV-KK-PP) mukaan; oletus tänään"))
                        .mut_arg("dry_run", |a| a.help("Laske, mitä poistuisi, poistamatta mitään"))
                        .mut_arg("format", |a| a.help("Tulosteen muoto: human tai json"))
                })
                .mut_subcommand("models", |s| {
                    s.about("Tallennetut malliversiot: numero, tiiviste, milloin ensin tallennettu, kieliversio, muistiinpano ja montako avointa tapausta kussakin")
                        .mut_arg("format", |a| a.help("Tulosteen muoto: human tai json"))
                })
                .mut_subcommand("backup", |s| {
                    s.about("Kopioi SQLite-tietokanta uuteen tiedostoon muiden kirjoittaessa siihen: yhtenäinen kopio yhden tallennuksen hetkeltä, vain omistajan luettavissa (PostgreSQL: pg_dump). Pseudonyymiavain ei ole tietokannassa: säilytä se erikseen.")
                        .mut_arg("out", |a| a.help("Uusi tiedosto (olemassa olevaa ei koskaan korvata)"))
                })
                .mut_subcommand("access-log", |s| {
                    s
                        .about("Kuka on käsitellyt asiakastietoja, uusimmat ensin")
                        .mut_arg("limit", |a| a.help("Enintään näin monta riviä"))
                        .mut_arg("client", |a| {
                            a.help("Vain tämän asiakkaan (henkilötunnus tai pseudonyymi) tietojen käsittelyt: kuka on katsonut tietojani")
                        })
                })
                .mut_subcommand("verify", |s| {
                    s
                        .about("Tarkista tapahtumalokin ja käyttölokin tiivisteketjut: ensimmäinen muutettu, poistettu tai siirretty rivi")
                        .long_about(
                            "Käy tapahtumalokin ja käyttölokin tiivisteketjut läpi ensimmäisestä rivistä viimeiseen: \
                             nimeää ensimmäisen rivin, jota on muutettu, joka on poistettu tai siirretty kirjoittamisen \
                             jälkeen, ja tulostaa kummankin lokin viimeisimmän tiivisteen talteen kirjattavaksi.\n\n\
                             Ei tarvitse mallia eikä avainta, kun --database on annettu. Paluuarvo 0, kun molemmat \
                             ketjut ovat ehjät, 1, kun jompikumpi on rikki, ja 2 käyttö- tai sisäisessä virheessä.",
                        )
                        .mut_arg("format", |a| a.help("Tulosteen muoto: human tai json"))
                })
        })
        .mut_subcommand("token", |c| {
            store_args(c).about("API-tunnisteet järjestelmille ja ihmisille").mut_subcommand("create", |t| {
                t
                    .about("Luo tunniste ja näytä se kerran; tietokanta säilyttää vain sen SHA-256-tiivisteen")
                    .mut_arg("role", |a| a.help("Rooli: staff, process_owner, viewer, auditor tai system"))
                    .mut_arg("units", |a| a.help("Yksikkö (palvelu), jonka asiakkaita haltija saa käsitellä; toista useammalle"))
                    .mut_arg("name", |a| a.help("Haltijan nimi käyttölokia varten"))
            })
        })
        .mut_subcommand("fmt", |c| {
            c
                .about("Muotoile tiedostot yhtenäiseen asuun kommentit säilyttäen")
                .mut_arg("paths", |a| a.help("Tiedostot tai kansiot"))
                .mut_arg("check", |a| a.help("Älä muuta mitään: paluuarvo 1 ja muuttuvien tiedostojen nimet"))
        });
    everywhere(command)
}

/// clap's words in its argument errors, in Finnish, in the order they are replaced (the longer
/// of two that begin alike first). The values they quote stay as they were typed.
const ERROR_WORDS: &[(&str, &str)] = &[
    ("error: ", "virhe: "),
    ("unexpected value '", "odottamaton arvo '"),
    ("' found; no more were expected", "'; enempää ei odotettu"),
    ("unexpected argument '", "odottamaton argumentti '"),
    ("' found", "'"),
    ("invalid value '", "virheellinen arvo '"),
    ("' for '", "' valitsimelle '"),
    ("a value is required for '", "valitsin '"),
    ("' but none was supplied", "' tarvitsee arvon"),
    ("unrecognized subcommand '", "tuntematon komento '"),
    (
        "the following required arguments were not provided:",
        "seuraavat pakolliset argumentit puuttuvat:",
    ),
    ("the argument '", "argumenttia '"),
    ("' cannot be used multiple times", "' voi antaa vain kerran"),
    ("' cannot be used with", "' ei voi käyttää yhdessä näiden kanssa:"),
    (
        "equal sign is needed when assigning values to '",
        "anna arvo yhtäsuuruusmerkillä valitsimelle '",
    ),
    ("tip: a similar argument exists: ", "vihje: samankaltainen valitsin on "),
    ("tip: some similar arguments exist: ", "vihje: samankaltaisia valitsimia ovat "),
    ("tip: a similar subcommand exists: ", "vihje: samankaltainen komento on "),
    ("tip: some similar subcommands exist: ", "vihje: samankaltaisia komentoja ovat "),
    ("tip: a similar value exists: ", "vihje: samankaltainen arvo on "),
    ("tip: some similar values exist: ", "vihje: samankaltaisia arvoja ovat "),
    ("tip: to pass '", "vihje: anna '"),
    ("' as a value, use '", "' arvona näin: '"),
    ("tip:", "vihje:"),
    ("[possible values: ", "[mahdolliset arvot: "),
    ("Usage: ", "Käyttö: "),
    ("For more information, try '", "Lisätietoja: '"),
];

/// A command-line error as clap renders it (plain text), in Finnish.
pub fn finnish_error(text: &str) -> String {
    ERROR_WORDS.iter().fold(text.to_owned(), |text, (en, fi)| text.replace(en, fi))
}
