"""Spanish wording of the two questionnaires the portal shows at home (English comes from the definitions).

Source: instruments.md §1 and §2 (PHQ-9 and GAD-7 are free to reproduce, without copyright restriction;
Pfizer's translations, "Spanish for the USA", come with the same screeners [U: their terms were not retrieved]).
LSAS, SPIN and C-SSRS wording stays licensed: neither language is shipped (instruments.md §13.1); pages use
their neutral labels or the clinic's own licensed text.
"""

_FREQUENCY = {"LA6568-5": "Ningún día", "LA6569-3": "Varios días", "LA6570-1": "Más de la mitad de los días",
              "LA6571-9": "Casi todos los días"}
_DIFFICULTY = {"LA6572-7": "No ha sido difícil", "LA6573-5": "Un poco difícil", "LA6575-0": "Muy difícil",
               "LA6574-3": "Extremadamente difícil"}
_DIFFICULTY_ITEM = ("Si marcó cualquiera de los problemas, ¿qué tanta dificultad le han dado estos problemas para "
                    "hacer su trabajo, encargarse de las tareas del hogar, o llevarse bien con otras personas?")

TEXT: dict[str, dict[str, dict]] = {
    "es": {
        "phq-9": {
            "title": "Cuestionario sobre la salud del paciente (PHQ-9)",
            "stem": "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a los siguientes "
                    "problemas?",
            "items": {
                "/44250-9": "Poco interés o placer en hacer cosas",
                "/44255-8": "Se ha sentido decaído(a), deprimido(a) o sin esperanzas",
                "/44259-0": "Ha tenido dificultad para quedarse o permanecer dormido(a), o ha dormido demasiado",
                "/44254-1": "Se ha sentido cansado(a) o con poca energía",
                "/44251-7": "Sin apetito o ha comido en exceso",
                "/44258-2": "Se ha sentido mal con usted mismo(a) – o que es un fracaso o que ha quedado mal con "
                            "usted mismo(a) o con su familia",
                "/44252-5": "Ha tenido dificultad para concentrarse en ciertas actividades, tales como leer el "
                            "periódico o ver la televisión",
                "/44253-3": "¿Se ha movido o hablado tan lento que otras personas podrían haberlo notado? o lo "
                            "contrario – muy inquieto(a) o agitado(a) que ha estado moviéndose mucho más de lo normal",
                "/44260-8": "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera",
                "/69722-7": _DIFFICULTY_ITEM,
            },
            "options": {**_FREQUENCY, **_DIFFICULTY},
        },
        "gad-7": {
            "title": "Trastorno de ansiedad generalizada (GAD-7)",
            "stem": "Durante las últimas 2 semanas, ¿con qué frecuencia ha sentido molestias por los siguientes "
                    "problemas?",
            "items": {
                "/69725-0": "Se ha sentido nervioso(a), ansioso(a) o con los nervios de punta",
                "/68509-9": "No ha sido capaz de parar o controlar su preocupación",
                "/69733-4": "Se ha preocupado demasiado por motivos diferentes",
                "/69734-2": "Ha tenido dificultad para relajarse",
                "/69735-9": "Se ha sentido tan inquieto(a) que no ha podido quedarse quieto(a)",
                "/69689-8": "Se ha molestado o irritado fácilmente",
                "/69736-7": "Ha tenido miedo de que algo terrible fuera a pasar",
                "/69722-7": _DIFFICULTY_ITEM,
            },
            "options": {**_FREQUENCY, **_DIFFICULTY},
        },
    },
}


def translated(language: str, instrument_key: str, part: str, key: str | None = None, default: str = "") -> str:
    """The wording in `language`, or `default` (the definition's English) where none is shipped."""
    entry = TEXT.get(language, {}).get(instrument_key, {})
    value = entry.get(part) if key is None else entry.get(part, {}).get(key)
    return value or default
