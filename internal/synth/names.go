package synth

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// The reference lists are constant text parsed on every Generate, so the
// package holds no mutable state and a list reads like the data it is.

// familyNames are among the most frequent French surnames; a few have a
// space or an apostrophe so encoders and validators meet them.
const familyNames = `Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent
Simon Michel Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert
Fontaine Rousseau Vincent Muller Lefèvre Faure André Mercier Blanc Guérin Boyer Garnier
Chevalier François Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas Henry Roussel
Mathieu Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer Dufour Meunier
Brun Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard Roche
Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas
Lacroix Olivier Philippe Bourgeois Pierre Benoît Rey Leclerc Payet Rolland Leclercq Guillaume
Lecomte Lopez Jean Dupuy Guillot Hubert Berger Carpentier Sanchez Dupuis Moulin Louis
Deschamps Huet Vasseur Perez Boucher Fleury Royer Klein Jacquet Adam Paris Poirier Marty
Aubry Guyot Carré Charles Renault Charpentier Ménard Maillard Baron Bertin Bailly Hervé
Schneider Fernandez Le_Gall Collet Léger Bouvier Julien Prévost Millet Perrot Daniel Le_Roux
Cousin Germain Breton Besson Langlois Rémy Le_Goff Pelletier Lévêque Perrier Leblanc Barré
Lebrun Marchal Weber Mallet Hamon Boulanger Jacob Monnier Michaud Rodriguez Guichard Gillet
Étienne Grondin Poulain Tessier Chevallier Collin Chauvin Bouchet Gay Lemaître Bénard
Maréchal Humbert Reynaud Antoine Hoarau Perret Barthélemy Cordier Pichon Lejeune Gilbert
Lamy Delaunay Pasquier Carlier Laporte D'Almeida Saint-Martin`

// Given names span generations, from Jeanne and Marcel to Léo and Jade.
const (
	maleNames = `Jean Pierre Michel André Philippe Alain Bernard Jacques Daniel Patrick
Nicolas Christophe Stéphane Laurent Julien Thomas Sébastien Antoine Maxime Alexandre Lucas
Hugo Louis Gabriel Léo Raphaël Arthur Jules Adam Mohamed Karim Noah Ethan Théo Mathis Nathan
Paul François Olivier Éric Frédéric Thierry Gérard Henri Marcel René Yves Guillaume Romain
Kévin Jérémy Mathéo Timothée Jean-Pierre Jean-Luc Marc Vincent Bruno Didier Youssef Mehdi
Joseph Émile Baptiste Clément Quentin Damien Cédric Florian Gilles Serge Roger Claude`
	femaleNames = `Marie Jeanne Françoise Monique Catherine Nathalie Isabelle Sylvie Martine
Christine Sophie Valérie Sandrine Céline Aurélie Julie Camille Léa Manon Chloé Emma Jade
Louise Alice Lina Inès Zoé Sarah Laura Anne Hélène Élodie Émilie Claire Nadia Fatima Yasmine
Amandine Pauline Margaux Océane Ambre Rose Anna Mila Agathe Brigitte Danielle Nicole Chantal
Odette Simone Yvette Ginette Colette Marie-Claire Anne-Sophie Juliette Lucie Mathilde Charlotte
Virginie Stéphanie Aïcha Leïla Josiane Geneviève Madeleine Thérèse Lou Romane Elsa Clémence`
)

// communes: INSEE code | postcodes (a range a-b or a list) | name |
// weight (a rough share of residents) | pension fund of the region.
const communes = `75056|75001-75020|Paris|60|CNAV
13055|13001-13016|Marseille|24|CARSAT Sud-Est
69123|69001-69009|Lyon|15|CARSAT Rhône-Alpes
31555|31000,31100,31200,31300,31400,31500|Toulouse|14|CARSAT Midi-Pyrénées
06088|06000,06100,06200,06300|Nice|10|CARSAT Sud-Est
44109|44000,44100,44200,44300|Nantes|9|CARSAT Pays de la Loire
34172|34000,34070,34080,34090|Montpellier|8|CARSAT Languedoc-Roussillon
67482|67000,67100,67200|Strasbourg|8|CARSAT Alsace-Moselle
33063|33000,33100,33200,33300,33800|Bordeaux|8|CARSAT Aquitaine
59350|59000,59160,59260,59777,59800|Lille|7|CARSAT Hauts-de-France
35238|35000,35200,35700|Rennes|6|CARSAT Bretagne
51454|51100|Reims|5|CARSAT Nord-Est
83137|83000,83100,83200|Toulon|5|CARSAT Sud-Est
42218|42000,42100|Saint-Étienne|5|CARSAT Rhône-Alpes
76351|76600,76610,76620|Le Havre|5|CARSAT Normandie
38185|38000,38100|Grenoble|5|CARSAT Rhône-Alpes
21231|21000|Dijon|4|CARSAT Bourgogne-Franche-Comté
49007|49000,49100|Angers|4|CARSAT Pays de la Loire
30189|30000,30900|Nîmes|4|CARSAT Languedoc-Roussillon
69266|69100|Villeurbanne|4|CARSAT Rhône-Alpes
63113|63000,63100|Clermont-Ferrand|4|CARSAT Auvergne
92012|92100|Boulogne-Billancourt|3|CNAV
92050|92000|Nanterre|3|CNAV
93066|93200,93210|Saint-Denis|3|CNAV
94028|94000|Créteil|3|CNAV
95018|95100|Argenteuil|3|CNAV
78646|78000|Versailles|2|CNAV
29019|29200|Brest|3|CARSAT Bretagne
37261|37000,37100,37200|Tours|3|CARSAT Centre-Val de Loire
87085|87000,87100,87280|Limoges|3|CARSAT Centre-Ouest
80021|80000,80080,80090|Amiens|3|CARSAT Hauts-de-France
66136|66000,66100|Perpignan|3|CARSAT Languedoc-Roussillon
57463|57000,57050,57070|Metz|3|CARSAT Alsace-Moselle
25056|25000|Besançon|3|CARSAT Bourgogne-Franche-Comté
45234|45000,45100|Orléans|3|CARSAT Centre-Val de Loire
14118|14000|Caen|2|CARSAT Normandie
68224|68100,68200|Mulhouse|2|CARSAT Alsace-Moselle
76540|76000,76100|Rouen|2|CARSAT Normandie
54395|54000,54100|Nancy|2|CARSAT Nord-Est
59512|59100|Roubaix|2|CARSAT Hauts-de-France
86194|86000|Poitiers|2|CARSAT Centre-Ouest
64445|64000|Pau|2|CARSAT Aquitaine
17300|17000|La Rochelle|2|CARSAT Centre-Ouest
72181|72000,72100|Le Mans|2|CARSAT Pays de la Loire
84007|84000|Avignon|2|CARSAT Sud-Est
74010|74000,74370,74600,74940,74960|Annecy|2|CARSAT Rhône-Alpes
05061|05000|Gap|1|CARSAT Sud-Est
15014|15000|Aurillac|1|CARSAT Auvergne
23096|23000|Guéret|1|CARSAT Centre-Ouest
48095|48000|Mende|1|CARSAT Languedoc-Roussillon
2A004|20000,20090|Ajaccio|1|CARSAT Sud-Est
2A247|20137|Porto-Vecchio|1|CARSAT Sud-Est
2B033|20200,20600|Bastia|1|CARSAT Sud-Est
2B096|20250|Corte|1|CARSAT Sud-Est
97411|97400,97490|Saint-Denis|3|CGSS Réunion
97209|97200,97234|Fort-de-France|2|CGSS Martinique`

// countries of birth abroad: ISO code | INSEE country code (the NIR's
// positions 8–10 after "99") | weight | family names common there.
const countries = `MA|350|20|Benali Alaoui El_Idrissi Bennani Amrani Tazi
DZ|352|20|Haddad Mansouri Belkacem Benyahia Cherif Boudjema
TN|351|8|Bouaziz Trabelsi Ben_Salah Gharbi Jebali
PT|139|14|Ferreira Pereira Dos_Santos Rodrigues Da_Silva Gonçalves
IT|127|6|Rossi Russo Bianchi Romano Esposito
ES|134|5|Fernández López González Sánchez
TR|208|5|Yılmaz Kaya Demir Şahin Çelik
SN|341|5|Diop N'Diaye Fall Sow Ba
BE|131|3|Peeters Janssens Maes Dubois
DE|109|3|Schmidt Müller Schneider Fischer
RO|114|4|Popescu Ionescu Popa Stan
VN|243|3|Nguyen Tran Le Pham
CN|216|4|Wang Zhang Li Chen Liu`

// employers: kind (E State, T local authority, H hospital) | department
// (empty for national bodies) | name.
const employers = `E||Ministère de l'Intérieur
E||Ministère des Armées
E||Ministère de l'Éducation nationale
E||Ministère de l'Économie et des Finances
E||Ministère de la Justice
E||Ministère de la Transition écologique
E||Direction générale des Finances publiques
E|69|Rectorat de l'académie de Lyon
E|13|Rectorat de l'académie d'Aix-Marseille
E|33|Préfecture de la Gironde
E|59|Préfecture du Nord
E|67|Université de Strasbourg
T|75|Ville de Paris
T|13|Mairie de Marseille
T|69|Métropole de Lyon
T|31|Mairie de Toulouse
T|44|Mairie de Nantes
T|35|Mairie de Rennes
T|59|Département du Nord
T|13|Département des Bouches-du-Rhône
T|75|Région Île-de-France
T|34|Région Occitanie
T|2A|Collectivité de Corse
T|974|Département de La Réunion
H|75|Assistance Publique - Hôpitaux de Paris
H|69|CHU de Lyon
H|13|Assistance Publique - Hôpitaux de Marseille
H|33|CHU de Bordeaux
H|31|CHU de Toulouse
H|44|CHU de Nantes
H|59|CHU de Lille
H|67|Hôpitaux universitaires de Strasbourg
H|05|Centre hospitalier de Gap
H|2B|Centre hospitalier de Bastia
H|974|CHU de La Réunion`

// grades: kind | category | weight | corps | grade | gross monthly pay in
// euros, min-max at full time (2025 pay scales, rounded).
const grades = `E|A|6|professeurs certifiés|classe normale|2400-4300
E|A|5|professeurs des écoles|classe normale|2300-4100
E|A|3|attachés d'administration de l'État|attaché|2700-4200
E|A|1|attachés d'administration de l'État|attaché principal|3600-5200
E|A|2|inspecteurs des finances publiques|inspecteur|2800-4500
E|A|1|ingénieurs des travaux publics de l'État|ingénieur|2900-4600
E|A|1|commissaires de police|commissaire|4200-7000
E|B|3|secrétaires administratifs|classe normale|2100-3000
E|B|1|secrétaires administratifs|classe supérieure|2400-3300
E|B|2|contrôleurs des finances publiques|contrôleur|2100-3200
E|B|4|gardiens de la paix|gardien de la paix|2300-3300
E|B|1|techniciens supérieurs du développement durable|technicien|2100-3100
E|C|4|adjoints administratifs de l'État|adjoint administratif principal de 2e classe|1850-2400
E|C|2|adjoints techniques de l'État|adjoint technique|1820-2300
T|A|2|attachés territoriaux|attaché|2600-4200
T|A|1|ingénieurs territoriaux|ingénieur|2800-4600
T|B|3|rédacteurs territoriaux|rédacteur|2050-3000
T|B|2|techniciens territoriaux|technicien principal de 2e classe|2150-3100
T|B|1|animateurs territoriaux|animateur|2000-2800
T|C|6|adjoints administratifs territoriaux|adjoint administratif|1820-2300
T|C|8|adjoints techniques territoriaux|adjoint technique principal de 2e classe|1850-2400
T|C|2|agents de police municipale|gardien-brigadier|1950-2600
T|C|2|agents territoriaux spécialisés des écoles maternelles|ATSEM principal de 2e classe|1850-2300
H|A|6|infirmiers en soins généraux|infirmier de classe normale|2400-3700
H|A|1|cadres de santé paramédicaux|cadre de santé|3300-4800
H|A|1|attachés d'administration hospitalière|attaché|2700-4200
H|B|5|aides-soignants|aide-soignant de classe normale|2000-2700
H|B|2|assistants médico-administratifs|classe normale|2050-2900
H|C|3|agents des services hospitaliers qualifiés|agent des services hospitaliers qualifié|1800-2200
H|C|2|adjoints administratifs hospitaliers|adjoint administratif|1820-2300`

// specialSchemes pay health insurance outside the general scheme.
const specialSchemes = "CNMSS|CRPCEN|ENIM|CAMIEG|CPRPSNCF|Caisse de prévoyance de la RATP"

type commune struct {
	code, name, pension string
	postcodes           []string
	weight              int
}

// dept is the department of a commune: 2 characters, 3 overseas.
func (c commune) dept() string { return deptOf(c.code) }

func deptOf(code string) string {
	if strings.HasPrefix(code, "97") {
		return code[:3]
	}
	return code[:2]
}

type country struct {
	iso, insee string
	weight     int
	names      []string
}

type employer struct {
	kind, dept, name, siret string
}

type grade struct {
	kind, category, corps, grade string
	weight                       int
	minPay, maxPay               int64 // cents
}

// tables is the parsed reference data of one Generate call.
type tables struct {
	family, male, female []string
	communes             []commune
	communeWeights       []int
	countries            []country
	countryWeights       []int
	employers            []employer
	grades               []grade
	special              []string
}

func loadTables() *tables {
	t := &tables{
		family:  words(familyNames),
		male:    words(maleNames),
		female:  words(femaleNames),
		special: strings.Split(specialSchemes, "|"),
	}
	for _, f := range lines(communes, 5) {
		c := commune{code: f[0], name: f[2], pension: f[4], weight: atoi(f[3])}
		if a, b, ok := strings.Cut(f[1], "-"); ok {
			for p := atoi(a); p <= atoi(b); p++ {
				c.postcodes = append(c.postcodes, fmt.Sprintf("%05d", p))
			}
		} else {
			c.postcodes = strings.Split(f[1], ",")
		}
		t.communes = append(t.communes, c)
		t.communeWeights = append(t.communeWeights, c.weight)
	}
	for _, f := range lines(countries, 4) {
		c := country{iso: f[0], insee: f[1], weight: atoi(f[2]), names: words(f[3])}
		t.countries = append(t.countries, c)
		t.countryWeights = append(t.countryWeights, c.weight)
	}
	for _, f := range lines(employers, 3) {
		t.employers = append(t.employers, employer{kind: f[0], dept: f[1], name: f[2], siret: siretFor(f[0], f[2])})
	}
	for _, f := range lines(grades, 6) {
		lo, hi, _ := strings.Cut(f[5], "-")
		t.grades = append(t.grades, grade{kind: f[0], category: f[1], weight: atoi(f[2]), corps: f[3], grade: f[4],
			minPay: int64(atoi(lo)) * 100, maxPay: int64(atoi(hi)) * 100})
	}
	return t
}

// words splits on white space; an underscore stands for a space inside a
// name ("Le_Gall").
func words(s string) []string {
	w := strings.Fields(s)
	for i := range w {
		w[i] = strings.ReplaceAll(w[i], "_", " ")
	}
	return w
}

func lines(s string, fields int) [][]string {
	var out [][]string
	for _, l := range strings.Split(s, "\n") {
		f := strings.Split(l, "|")
		if len(f) != fields {
			panic(fmt.Sprintf("synth: table line %q has %d fields, want %d", l, len(f), fields)) // a typo in the constants above
		}
		out = append(out, f)
	}
	return out
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic("synth: table number " + strconv.Quote(s)) // a typo in the constants above
	}
	return n
}

// siretFor derives a stable, fictitious SIRET from the employer's name:
// public bodies' SIRENs start with 1 (State) or 2 (local and hospital);
// both the SIREN and the whole SIRET carry a valid Luhn check digit, as
// real ones do.
func siretFor(kind, name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	n := h.Sum64()
	prefix := "2"
	if kind == "E" {
		prefix = "1"
	}
	siren := fmt.Sprintf("%s%07d", prefix, n%10_000_000)
	siren += strconv.Itoa(luhnDigit(siren))
	nic := fmt.Sprintf("%04d", (n/10_000_000)%10_000)
	return siren + nic + strconv.Itoa(luhnDigit(siren+nic))
}

// luhnDigit is the digit that makes payload+digit pass the Luhn check.
func luhnDigit(payload string) int {
	sum := 0
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if (len(payload)-1-i)%2 == 0 { // doubled: every second digit from the (future) check digit
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}
