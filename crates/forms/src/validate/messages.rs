//! Built-in messages, in English and Spanish, used when a form gives none.

/// A built-in message.
#[derive(Debug, PartialEq)]
pub(crate) enum Msg<'a> {
    Required,
    Constraint,
    Integer,
    Decimal,
    Date,
    Geopoint,
    Text,
    Image,
    Time,
    DateTime,
    Geotrace,
    Geoshape,
    File,
    Acknowledge,
    Rank,
    Range {
        lo: f64,
        hi: f64,
        step: f64,
    },
    NotAChoice(&'a str),
    Unknown,
    NotInThisPart,
    /// The form column (`relevant`, `constraint`...) and the error.
    Expression(&'a str, &'a str),
    NotARepeat,
    RepeatExpected,
    RepeatCount {
        expected: i64,
        found: usize,
    },
}

/// Whether built-in messages for `lang` are given in Spanish (when `lang` is neither
/// English nor Spanish, the form's default language decides).
fn spanish(lang: &str, default_lang: &str) -> bool {
    let primary = |l: &str| {
        l.split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    match primary(lang).as_str() {
        "es" => true,
        "en" => false,
        _ => primary(default_lang) == "es",
    }
}

/// The built-in message in `lang` (English unless Spanish applies).
pub(crate) fn builtin(msg: Msg<'_>, lang: &str, default_lang: &str) -> String {
    let es = spanish(lang, default_lang);
    let pick = |en: &str, es_text: &str| if es { es_text } else { en }.to_string();
    match msg {
        Msg::Required => pick("This answer is required.", "Esta respuesta es obligatoria."),
        Msg::Constraint => pick(
            "This answer is not allowed.",
            "Esta respuesta no es válida.",
        ),
        Msg::Integer => pick("Enter a whole number.", "Escriba un número entero."),
        Msg::Decimal => pick("Enter a number.", "Escriba un número."),
        Msg::Date => pick(
            "Enter a date as YYYY-MM-DD.",
            "Escriba una fecha con el formato AAAA-MM-DD.",
        ),
        Msg::Geopoint => pick(
            "Enter a location as latitude and longitude.",
            "Indique una ubicación con latitud y longitud.",
        ),
        Msg::Text => pick("Enter text.", "Escriba un texto."),
        Msg::Image => pick(
            "Attach a photo (its file name).",
            "Adjunte una foto (el nombre del archivo).",
        ),
        Msg::Time => pick(
            "Enter a time as HH:MM.",
            "Escriba una hora con el formato HH:MM.",
        ),
        Msg::DateTime => pick(
            "Enter a date and time as YYYY-MM-DDTHH:MM.",
            "Escriba una fecha y hora con el formato AAAA-MM-DDTHH:MM.",
        ),
        Msg::Geotrace => pick(
            "Enter a line of two or more points (latitude and longitude), separated by “;”.",
            "Indique una línea de dos o más puntos (latitud y longitud), separados por «;».",
        ),
        Msg::Geoshape => pick(
            "Enter a closed shape: four or more points separated by “;”, the last the same as the first.",
            "Indique una figura cerrada: cuatro o más puntos separados por «;», el último igual al primero.",
        ),
        Msg::File => pick(
            "Attach a file (its file name).",
            "Adjunte un archivo (el nombre del archivo).",
        ),
        Msg::Acknowledge => pick("Answer OK or leave empty.", "Responda OK o deje vacío."),
        Msg::Rank => pick(
            "Put every choice in order, each once.",
            "Ordene todas las opciones, cada una una sola vez.",
        ),
        Msg::Range { lo, hi, step } => {
            if es {
                format!("Elija un número de {lo} a {hi}, en pasos de {step}.")
            } else {
                format!("Choose a number from {lo} to {hi}, in steps of {step}.")
            }
        }
        Msg::NotAChoice(v) => {
            if es {
                format!("«{v}» no es una de las opciones.")
            } else {
                format!("“{v}” is not one of the choices.")
            }
        }
        Msg::Unknown => pick(
            "This question is not part of the form.",
            "Esta pregunta no forma parte del formulario.",
        ),
        Msg::NotInThisPart => pick(
            "This question does not belong in this part of the form.",
            "Esta pregunta no corresponde a esta parte del formulario.",
        ),
        Msg::Expression(column, detail) => {
            if es {
                format!("El formulario no pudo evaluar una regla ({column}): {detail}")
            } else {
                format!("The form could not evaluate a rule ({column}): {detail}")
            }
        }
        Msg::NotARepeat => pick(
            "This question takes a single answer, not a list.",
            "Esta pregunta admite una sola respuesta, no una lista.",
        ),
        Msg::RepeatExpected => pick(
            "Expected a list of entries.",
            "Se esperaba una lista de entradas.",
        ),
        Msg::RepeatCount { expected, found } => {
            if es {
                format!("Se esperaban {expected} entradas y hay {found}.")
            } else {
                format!("Expected {expected} entries, found {found}.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_selection() {
        assert_eq!(
            builtin(Msg::Required, "es", "en"),
            "Esta respuesta es obligatoria."
        );
        assert_eq!(
            builtin(Msg::Required, "es-MX", "en"),
            "Esta respuesta es obligatoria."
        );
        assert_eq!(
            builtin(Msg::Required, "en", "es"),
            "This answer is required."
        );
        assert_eq!(
            builtin(Msg::Required, "vi", "es"),
            "Esta respuesta es obligatoria."
        );
        assert_eq!(
            builtin(Msg::Required, "vi", "en"),
            "This answer is required."
        );
    }
}
