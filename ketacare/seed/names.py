"""Fake names for generated patients and contacts (the demo clinic and the synthetic network share them)."""

GIVEN = ["Avery", "Blake", "Casey", "Dana", "Elliot", "Farah", "Gabriel", "Hana", "Ines", "Jonah", "Kai", "Lena",
         "Mateo", "Nadia", "Omar", "Paula", "Quinn", "Rosa", "Samir", "Tess", "Uma", "Victor", "Wren", "Ximena",
         "Yusuf", "Zoe", "Amara", "Bruno", "Celia", "Dmitri", "Esme", "Felix", "Greta", "Hugo", "Isla", "Jasper"]
FAMILY = ["Abbott", "Baptiste", "Castillo", "Dunmore", "Eriksen", "Fairweather", "Goldberg", "Haddad", "Iwasaki",
          "Jovanovic", "Kowalczyk", "Lindgren", "Moreau", "Nakamura", "O'Connell", "Petrovic", "Quintero",
          "Rasmussen", "Sandoval", "Thibodeaux", "Underwood", "Vasquez", "Whitfield", "Yamamoto", "Zielinski"]
