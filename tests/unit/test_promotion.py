"""rules.md sections 1 and 3 step 2: a campaign that is not commercial must not promote.

Two corpora of realistic French SMS: marketing texts that must be flagged, each with a phrase the
verdict must name, and genuine transactional, charity, public-body and political texts that must
not. Run with `-s` to see the false-positive rate and the recall.
"""

import time

import pytest

from tambour.rules.fold import fold
from tambour.rules.promotion import PromotionVerdict, promotion_verdict

# (text, a phrase the signals must contain, compared folded)
MARKETING: list[tuple[str, str]] = [
    ("SOLDES d'hiver chez Maison Lumière : jusqu'à -50% sur tout le magasin !", "soldes"),
    ("Maison Lumière : -20% sur nos luminaires ce week-end avec le code PROMO20", "code PROMO20"),
    ("Bonjour, profitez de 20 % de remise sur votre prochaine commande !", "20 % de remise"),
    ("Chez Pizza Roma, 2 pizzas pour 1 achetée tous les mardis !", "2 pizzas pour 1"),
    (
        "Boulangerie Dupain : 1 acheté = 1 offert sur les croissants ce samedi",
        "1 acheté = 1 offert",
    ),
    ("Black Friday chez TechStore : jusqu'à 70% de réduction sur le high-tech !", "black friday"),
    (
        "Vente privée réservée à nos clients : accès dès demain 8h sur ventes.modeparis.fr",
        "vente privée",
    ),
    ("BIENVENUE ! 10€ offerts sur votre première commande avec le code HELLO10", "10€ offerts"),
    ("Déstockage massif chez MeubleDiscount : tout doit disparaître !", "déstockage"),
    (
        "Offre spéciale fête des mères : un bouquet acheté, une carte offerte. Fleurs&Co",
        "offre spéciale",
    ),
    ("Dernières heures pour profiter des soldes chez Mode&Vous !", "soldes"),
    ("Garage Martin : vidange à partir de 49€, réservez vite au 01 23 45 67 89", "à partir de 49€"),
    (
        "Découvrez nos nouveautés printemps en boutique dès aujourd'hui ! Les Jardins de Léa",
        "découvrez nos nouveautés",
    ),
    ("Le bon plan de la semaine : 2 pour 1 sur les pizzas chez Napoli", "bon plan"),
    ("Optique Vue+ : votre 2e paire offerte pour 1€ de plus !", "2e paire offerte"),
    ("Jeu concours : tentez de gagner un week-end à Deauville ! hotel-mer.fr/jeu", "jeu concours"),
    ("Code NOEL24 : -15% sur toute la boutique jusqu'au 24/12. Librairie Page", "code NOEL24"),
    ("Institut Zen : massage 1h à seulement 39€ au lieu de 60€ ce mois-ci", "au lieu de 60€"),
    ("Nouvelle collection arrivée ! Profitez-en vite en magasin. Boutique Élise", "profitez-en"),
    ("Votre pressing Net&Clean : 3 chemises pour le prix de 2 jusqu'à samedi", "pour le prix de 2"),
    ("Ventes flash sur https://shop.sportplus.fr/promo?utm_source=sms", "ventes flash"),
    (
        "Achetez votre sapin avant le 15/12, les décorations sont gratuites. Jardinerie Vert",
        "achetez",
    ),
    (
        "Commandez maintenant sur notre site et bénéficiez de la livraison offerte ! CaféDélice",
        "commandez maintenant",
    ),
    ("Ce week-end seulement, 30% de remise sur les canapés. Meubles Duval", "30% de remise"),
    ("Vin&Cave : dégustation samedi, -10% dès 6 bouteilles", "-10%"),
    ("Un bon d'achat de 15€ vous attend ! Valable jusqu'au 31/03 chez Beauté Plus", "bon d'achat"),
    (
        "Salon Coiff'Style : 1er mois offert, j'en profite : https://coiffstyle.fr/abo",
        "j'en profite",
    ),
    ("Promo exceptionnelle sur les pneus hiver : le 4e offert ! AutoPneu", "promo"),
    ("Fête des pères : offrez-lui une montre à –25% ! Bijouterie Lys", "–25%"),
    ("Liquidation totale avant fermeture : prix cassés sur tout le stock", "liquidation totale"),
    ("Happy hour au Bar du Port : 2 cocktails pour 1 de 18h à 20h !", "2 cocktails pour 1"),
    ("Flash sale Mode : -40% pendant 24h seulement sur modeparis.fr", "-40%"),
    ("Restaurant Le Gourmet : menu découverte à 25€ au lieu de 35€ ce midi", "au lieu de 35€"),
    (
        "Réveillon : réservez votre table, l'apéritif est offert ! Brasserie Lutèce",
        "réservez votre table",
    ),
    ("-30% sur les jouets jusqu'à dimanche chez JouéClub Nancy", "-30%"),
    ("Parfumerie Rose : pour tout achat, un échantillon offert !", "pour tout achat"),
    ("Bricomax ouvert ce dimanche : prix coûtant sur l'outillage", "prix coûtant"),
    ("Rentrée scolaire : les cahiers à 0,50€ seulement chez PapetPlus !", "0,50€ seulement"),
    ("Krys Lyon : la 2ème paire à 1€ jusqu'à samedi", "2ème paire à 1€"),
    ("Exclusivité web : 15% de réduction avec le code WEB15 sur ecoshop.fr", "code WEB15"),
    ("Nos soldes continuent : derniers jours pour en profiter ! Chaussures Pascal", "soldes"),
    ("Cyber Monday : -35% sur les portables, livraison gratuite. InfoPC", "cyber monday"),
    ("Le Fournil : votre baguette offerte dès 10€ d'achats ce samedi", "10€ d'achats"),
    ("Abonnez-vous avant dimanche et économisez 50€ sur votre forfait ! TéléNet", "économisez"),
    ("Grand déballage de printemps : petits prix sur toute la jardinerie !", "petits prix"),
    (
        "Venez découvrir notre nouvelle carte, le dessert est offert ce soir. Chez Paul",
        "venez découvrir",
    ),
    (
        "Plus que 48h pour bénéficier de notre offre exceptionnelle ! AssurPlus",
        "offre exceptionnelle",
    ),
    (
        "Hôtel des Pins : 3 nuits pour le prix de 2 en avril. Réservez sur hoteldespins.fr",
        "pour le prix de 2",
    ),
    ("Chez Auto+ le contrôle technique est à 59€ au lieu de 78€, prenez RDV", "au lieu de 78€"),
    ("10% cagnottés sur votre carte fidélité ce week-end ! SuperU", "10% cagnottés"),
    (
        "Inscrivez-vous à notre vente privée et recevez un cadeau de bienvenue. Lingerie Fine",
        "vente privée",
    ),
    ("Nouveau : le burger du mois à 9,90€ seulement ! Burger&Co", "9,90€ seulement"),
    ("Offre de rentrée : 3 mois offerts sur votre abonnement fitness ! GymZone", "3 mois offerts"),
    (
        "Prix en baisse sur la gamme Samsung jusqu'à épuisement des stocks ! ElectroDepot",
        "jusqu'à épuisement des stocks",
    ),
    ("Le Bistrot : ce soir, happy hour de 18h à 20h, cocktails à 5€", "happy hour"),
    (
        "Profitez de nos tarifs préférentiels sur la location de vélos cet été ! VéloCity",
        "profitez de nos",
    ),
    (
        "Livraison offerte ce week-end seulement sur https://www.mode-eco.fr",
        "ce week-end seulement",
    ),
    ("C'est les soldes ! Jusqu'à -60% chez Galeries Mode.", "jusqu'à -60%"),
    (
        "Rendez-vous en magasin pour notre braderie d'été, tout à 5€ ! Kiabi Metz",
        "rendez-vous en magasin",
    ),
    ("Non-stop ce samedi : promos en continu de 9h à 21h, ouvert 24h/24 sur le web", "promos"),
    ("Carrefour Market : 20% offerts en bons d'achat sur votre panier anniversaire", "20% offerts"),
    (
        "Pressing Lavoisier : 5ème passage gratuit avec votre carte de fidélité",
        "5ème passage gratuit",
    ),
    ("AVEC LE CODE {code_promo}, -5€ sur votre prochaine visite. Spa Lagon", "code {code_promo}"),
    ("Utilisez le code {code} sur notre e-shop avant dimanche. Optic 2000", "code {code}"),
    (
        "Les Restos de la Plage : profitez d'une remise de 10 € sur l'addition ce soir",
        "remise de 10 €",
    ),
    ("Association Amis des Bêtes : achetez nos calendriers 2027, 10 € pièce !", "achetez"),
    ("Boutique solidaire Emmaüs : -20% sur les meubles ce samedi", "-20%"),
]

# Genuine transactional, charity, public-body and political texts: none is promotional.
GENUINE: list[str] = [
    # Transactional.
    "Votre commande n°12345 d'un montant de 45,90 € a été expédiée.",
    "Votre code de vérification est 482913. Ne le communiquez à personne.",
    "Rappel : RDV le 12/03 à 14h30 chez Dr Martin. Pour annuler, appelez le 01 23 45 67 89.",
    "Votre colis sera livré demain entre 8h et 12h, suivi: https://suivi.exemple.fr/AB12",
    "Votre facture de 29,99 € est disponible dans votre espace client.",
    "Commande 88231 confirmée : 2 articles, total 67,40 €, livraison gratuite, "
    "expédition sous 48h.",
    "Votre code d'accès temporaire : KXZ42P. Valable 10 minutes.",
    "Votre véhicule est prêt. Montant à régler : 245,60 €. Garage Martin, ouvert 24h/24.",
    "Votre solde est de 1 250,32 € au 12/03. Banque Azur",
    "Votre abonnement mensuel de 9,99 € a été renouvelé le 01/04.",
    "Votre remboursement de 12,50 € a été effectué sur votre carte bancaire.",
    "Paiement de 54,00 € accepté chez Boulangerie Dupain le 12/03 à 08h12.",
    "Votre commande est prête ! Retrait en magasin avec le code de retrait 7781.",
    "Grand Hôtel : 3 nuits pour 2 personnes du 12 au 15 mai, confirmé. Profitez bien "
    "de votre séjour !",
    "Votre carte cadeau de 50 € a bien été envoyée à Julie.",
    "Votre livraison de 14h-18h est confirmée. Le livreur vous appellera 30 min avant.",
    "Votre mot de passe a été modifié. Si ce n'est pas vous, appelez le 09 70 80 90 00.",
    "Votre RDV vaccination est confirmé le 15/10 à 9h40, pharmacie du Centre.",
    "Echéance de votre prêt : 412,30 € prélevés le 05/06. Votre conseiller, Banque Azur.",
    "Votre ordonnance est prête, à retirer à la pharmacie avant samedi 19h.",
    "Votre vol AF1234 du 12/07 est retardé, nouveau départ 16h45. Air France",
    "Votre colis est disponible en point relais jusqu'au 20/03. Code de retrait : 4471.",
    "Service client joignable non-stop, 24h/24 et 7j/7 au 3900 (service gratuit + prix appel).",
    "Votre facture EDF de 87,12 € sera prélevée le 15/11. Consultez-la sur edf.fr.",
    "Votre table pour 4 personnes est réservée ce soir à 20h. À tout à l'heure ! Le Bistrot",
    "Votre devis n°2024-118 d'un montant de 1 280 € TTC est prêt. Répondez OUI pour l'accepter.",
    "Votre prêt de 15 000 € est accepté. Offre de prêt à signer sous 10 jours.",
    "Commande avec emballage cadeau expédiée, livraison offerte, suivi : https://suivi.colis.fr/X9",
    "Rappel : votre contrôle technique expire le 30/04. Garage Central, 02 99 11 22 33.",
    "VOTRE CODE PIN PROVISOIRE EST 4821.",
    "Votre commande est en préparation. Suivi : https://shop.modeparis.fr/suivi/5512",
    "Votre essai gratuit se termine dans 3 jours. Gérez votre abonnement dans l'application.",
    "Votre nouveau code client est AB12CD, il vous sera demandé à chaque connexion.",
    # Charity, associations, public bodies (non_commercial).
    "Un don de 50 € ne vous coûte que 17 € après réduction d'impôt. Merci ! Les Restos du Cœur",
    "Grâce à vous, 2 millions de repas servis. Faites un don : 66% de réduction d'impôt.",
    "Collecte de sang samedi 9h-13h salle des fêtes. Venez nombreux ! EFS",
    "Notre association organise une marche solidaire dimanche. Inscription gratuite sur place.",
    "Votre reçu fiscal 2024 est disponible dans votre espace donateur. Fondation Abbé Pierre",
    "Mairie de Lyon : la piscine rouvre lundi. Entrée gratuite pour les moins de 12 ans.",
    "Croix-Rouge : votre don de 20 € permet de distribuer 10 kits d'hygiène. Merci !",
    "Lire et Faire Lire, pour la promotion de la lecture : réunion des bénévoles jeudi 18h.",
    "CAF : votre attestation de paiement est disponible sur caf.fr.",
    "Banque alimentaire : collecte ce week-end dans vos supermarchés. Merci de votre générosité !",
    "Dépistage gratuit du diabète mardi à la maison de santé. Ville de Rennes.",
    "MSF : un don de 30 € revient à 10,20 € après déduction fiscale. Merci de votre soutien.",
    "L'école de musique cherche des bénévoles pour le 21 juin. Goûter offert aux enfants !",
    "Cotisation annuelle 2025 : 25 €, à régler avant le 31/01. Club de foot de Brest",
    "Un don mensuel de 15 € ne vous coûte que 5,10 € : 66 % de réduction d'impôt. UNICEF",
    # Political.
    "Votez Marie Dupont le 12 juin : pour une ville plus verte et des transports gratuits !",
    "Réunion publique jeudi 20h salle Jean Jaurès avec notre candidat. Entrée libre !",
    "Notre engagement : -10% d'impôts locaux. Découvrez notre programme sur dupont2026.fr",
    "Élections : bureau de vote ouvert de 8h à 20h dimanche. Chaque voix compte !",
    "Soutenez notre campagne : faites un don sur dupont2026.fr, 66% déductible de vos impôts.",
    "Meeting de clôture samedi 15h au Zénith. Navettes gratuites depuis la gare.",
    "Pétition : 50 000 signatures pour sauver la maternité ! Signez sur sauvonslamaternite.fr",
    "Dernière chance pour vous inscrire sur les listes électorales : avant le 31/12 en mairie.",
    "Le parti vous invite au verre de l'amitié après la réunion de section, vendredi 19h.",
    "Adhérez au Mouvement pour 10 € par an et participez à nos débats.",
    "Rappel : assemblée générale samedi 10h. Ordre du jour : bilan, élection du bureau.",
    "Préfecture : alerte canicule, hydratez-vous. Numéro vert gratuit 0800 06 66 66.",
]


# Three more sets, written as held-out samples after the rules above were designed. Measured
# before any tuning on them: 0/40 false positives and 27/40 caught (first set), 0/30 and 19/30
# after tuning on the first (second set), 0/30 and 22/30 after tuning on the second (third set).
# The detector was then tuned on them too: these are no longer held out, and the texts it still
# misses are listed as such (a lexical screen cannot tell "le dessert est offert" in a
# restaurant from "goûter offert aux enfants" at a charity).
MARKETING += [
    ("Chez Darty, la semaine du blanc : lave-linge dès 299€ !", "dès 299€"),
    ("Fnac : jusqu'au 15 mars, 5€ offerts tous les 50€ d'achat sur les livres", "5€ offerts"),
    (
        "Sephora : votre cadeau d'anniversaire vous attend en boutique ce mois-ci",
        "cadeau d'anniversaire vous attend",
    ),
    (
        "Decathlon : les prix baissent sur les vélos, rendez-vous sur decathlon.fr",
        "les prix baissent",
    ),
    (
        "Picard : 3 produits achetés = le 4e gratuit ce week-end",
        "3 produits achetés = le 4e gratuit",
    ),
    ("Nouveau chez Marie Coiffure : balayage + coupe 65€ au lieu de 90€", "au lieu de 90€"),
    (
        "Ventes privées Showroom : -70% sur vos marques préférées, accès anticipé ce soir",
        "Ventes privées",
    ),
    ("Boulanger : remboursement de 100€ pour l'achat d'un téléviseur 4K", "pour l'achat d'un"),
    ("Intermarché : les 2 packs d'eau à 4,50€, offre valable jusqu'à samedi", "offre valable"),
    (
        "Mc Donald's : un menu acheté, le 2ème à moitié prix avec l'appli",
        "un menu acheté, le 2ème à moitié",
    ),
    ("SFR : la fibre à 19,99€/mois pendant 1 an, souscrivez vite !", "19,99€/mois"),
    ("La Redoute : livraison gratuite dès 29€ et retours offerts, c'est maintenant !", "dès 29€"),
    (
        "Leroy Merlin : journées privilège, 15% sur tout le jardin avec votre carte maison",
        "15% sur tout",
    ),
    ("Zalando : dernière chance, vos articles favoris sont en promo !", "promo"),
    ("Norauto : votre révision à prix mini, prenez RDV en ligne", "à prix mini"),
    ("Spa des Sens : offrez un bon cadeau pour Noël, -20% jusqu'au 24/12", "-20%"),
    ("Yves Rocher : 1 produit offert pour 2 achetés, sur présentation de ce SMS", "pour 2 achetés"),
    ("Cinéma Pathé : place à 6€ le mardi, réservez sur pathe.fr", "réservez sur"),
    ("Lidl : arrivage spécial bricolage ce jeudi, quantités limitées", "quantités limitées"),
    ("Auchan : 50% remboursés en bon d'achat sur le 2ème produit", "50% remboursés"),
    ("Nocibé : mon parfum préféré à -30%, j'y cours !", "-30%"),
    ("Le Petit Ballon : la box vin du mois à 19,90€ au lieu de 29,90€", "au lieu de 29,90€"),
    ("Tap&Go : inscrivez-vous et recevez 10€ de crédit offert", "recevez 10€"),
    (
        "Pizzeria Bella : livraison offerte pour toute commande avant 19h ce soir",
        "offerte pour toute",
    ),
    (
        "Airbnb : économisez sur votre prochain séjour grâce à notre sélection à petits prix",
        "petits prix",
    ),
    ("Hôtel Belvue : réservez 7 nuits, payez-en 5 seulement", "payez-en 5"),
    ("Club Med : vacances au ski, réservez avant le 31 pour bénéficier de -15%", "-15%"),
    ("Alinéa : grande braderie annuelle, tout doit disparaître !", "tout doit disparaître"),
    ("Orange : changez de mobile et obtenez jusqu'à 150€ de reprise", "obtenez jusqu'à 150€"),
    ("BRICO DÉPÔT : OPÉRATION PRIX CHOCS SUR LE CARRELAGE", "PRIX CHOCS"),
    ("Carglass : votre pare-brise remplacé + 1 cadeau au choix, prenez RDV", "cadeau au choix"),
    ("Tutti Frutti : la barquette de fraises à 2€ seulement ce matin au marché", "2€ seulement"),
    ("Maison du Monde : la nouvelle collection est arrivée, -10% avec le code MAISON10", "-10%"),
    ("Uber Eats : 15€ de réduction sur vos 3 prochaines commandes", "15€ de réduction"),
    (
        "Printemps Haussmann : soirée shopping privée, 20% sur présentation de ce message",
        "20% sur présentation",
    ),
    ("Camaieu : c'est la fin des soldes, dernière démarque à -70%", "soldes"),
    ("Franprix : votre café offert pour l'achat d'un croissant", "pour l'achat d'un"),
    ("Vapiano : happy hour tous les jours de 17h à 19h, pâtes à 8€", "happy hour"),
    (
        "Toys'R'Us : 1 jouet acheté = 1 jouet offert sur une sélection",
        "1 jouet acheté = 1 jouet offert",
    ),
    ("Jardiland : plantes d'intérieur 3 pour 2 jusqu'à dimanche !", "3 pour 2"),
    ("Bijouterie Or&Co : 30 % sur les alliances pendant le salon du mariage", "30 % sur les"),
    ("King Jouet : Noël approche, -25 % sur une sélection de jouets avec la carte", "-25 %"),
    ("Courir : les sneakers à prix réduits, c'est le moment !", "à prix réduits"),
    (
        "Cuisines Schmidt : votre lave-vaisselle offert pour toute cuisine achetée",
        "offert pour toute",
    ),
    ("Pharmacie Lafayette : 2e produit à -50 % sur les solaires", "2e produit à -50 %"),
    ("Optical Center : lunettes de soleil à partir de 29 € seulement", "à partir de 29 €"),
    ("Sushi Shop : 20 % de remise sur votre commande en ligne avec SUSHI20", "20 % de remise"),
    ("Basic Fit : inscription à 0 € ce mois-ci, venez essayer !", "à 0 €"),
    ("Kiabi : encore plus de démarques, jusqu'à -60 % !", "démarque"),
    ("Gîtes de France : réservez votre été, early booking -10 %", "-10 %"),
    ("Darty : reprise de votre ancien frigo + 50 € remboursés", "50 € remboursés"),
    ("Leclerc : ticket E.Leclerc de 20 % sur la viande ce samedi", "20 % sur la"),
    ("Castorama : offre spéciale peinture, 2 pots achetés le 3e offert", "offre spéciale"),
    ("Le Slip Français : collection été disponible, frais de port offerts dès 60 €", "dès 60 €"),
    ("Hôtel Mercure : week-end détente à 99 € petit-déjeuner compris, réservez !", "réservez"),
    ("Cultura : le livre de poche à 1 € pour 3 achetés", "pour 3 achetés"),
    (
        "Nature & Découvertes : fête des pères, trouvez l'idée cadeau parfaite en magasin",
        "idée cadeau",
    ),
    ("Monoprix : coupon de 5 € à valoir dès 30 € d'achats", "coupon"),
    ("Burger King : le Whopper à 5 € avec le code WHOPPER5", "code WHOPPER5"),
    ("Conforama : matelas en promo, livraison gratuite ce mois-ci", "promo"),
    ("Truffaut : la journée des passionnés, 20% de réduction pour les membres", "20% de réduction"),
    ("Gifi : arrivage déco à petit prix dans votre magasin", "petit prix"),
    ("Ikea : économisez jusqu'à 200 € sur les cuisines METOD", "économisez"),
    ("Total Energies : 10 centimes de remise par litre ce week-end", "10 centimes de remise"),
    ("Salon Beauté Divine : premier soin offert pour toute nouvelle cliente", "offert pour toute"),
    ("Agence Immo+ : estimation gratuite de votre bien, contactez-nous !", "estimation gratuite"),
    ("Zara : vente privée en ligne dès ce soir 20h pour nos membres", "vente privée"),
    ("Cdiscount : French Days, jusqu'à -50 % sur le high-tech", "French Days"),
    ("Bouygues Telecom : forfait 100 Go à 9,99 €/mois, sans engagement", "9,99 €/mois"),
    (
        "Aquarium de Paris : billet enfant gratuit pour 1 adulte payant pendant les vacances",
        "pour 1 adulte payant",
    ),
    ("Fleuriste Lila : bouquets de la Saint-Valentin dès 25 €, commandez en ligne", "dès 25 €"),
    ("Atelier Cuir : -15 % pour nos clients fidèles, montrez ce SMS en caisse", "-15 %"),
    (
        "Renault Rennes : portes ouvertes ce week-end, reprise de votre véhicule +2000 €",
        "portes ouvertes",
    ),
    ("Coiffure Hair&Co : les mardis, brushing offert pour toute coloration", "offert pour toute"),
    ("Cave du Port : dégustation et 6 bouteilles pour le prix de 5", "pour le prix de 5"),
    ("Librairie Mots : remise de 5 % sur tous les livres scolaires", "remise de 5 %"),
    ("Garage Vidal : géométrie offerte pour l'achat de 4 pneus", "pour l'achat de 4"),
    ("Pizza Hut : la 2ème pizza à 1 € le jeudi, en livraison et à emporter", "2ème pizza à 1 €"),
    ("Assurances Maif : jusqu'à 2 mois offerts en souscrivant avant le 30/06", "2 mois offerts"),
    ("Opticien Lux : bilan visuel gratuit et 2e paire offerte, prenez RDV", "2e paire offerte"),
    (
        "O'Tacos : menu étudiant à 7,50 € sur présentation de la carte",
        "sur présentation de la carte",
    ),
    ("Clinique vétérinaire : vaccin chat à tarif réduit tout le mois de mars", "tarif réduit"),
    ("Fromagerie Paul : la raclette pour 4 à 29 €, commandez avant vendredi", "commandez avant"),
    ("Golf de Rennes : initiation gratuite samedi, réservez votre créneau", "réservez"),
    ("Institut Belle : épilation jambes -30% les lundis", "-30%"),
    (
        "Traiteur Dupuis : vos plateaux de fruits de mer, 10 % de remise dès 4 plateaux",
        "10 % de remise",
    ),
    ("Salon Auto Lyon : entrée gratuite avec le code SALON24", "code SALON24"),
    ("Lavage Auto Express : 5 lavages achetés, le 6e gratuit", "5 lavages achetés, le 6e gratuit"),
    ("Etam : lingerie 2 achetées, la 3e offerte", "2 achetées, la 3e offerte"),
    ("Domino's : 2 pizzas achetées = 1 offerte, code DOMI3", "2 pizzas achetées = 1 offerte"),
    ("Vélo Passion : révision à 39 € au lieu de 59 € avant l'été", "au lieu de 59 €"),
    ("Camping Les Flots : séjours en mobil-home à partir de 250 € la semaine", "à partir de 250 €"),
    ("Mon Petit Gazon : la tonte à prix d'ami, devis gratuit", "à prix d'ami"),
    ("Cocktail Bar 1920 : after-work, 2e verre offert jusqu'à 20h", "2e verre offert"),
    (
        "Casino Barrière : soirée spéciale, 20 € de jetons offerts à l'entrée",
        "20 € de jetons offerts",
    ),
    ("Parc Astérix : billets à -40 % en ligne jusqu'au 31/03", "-40 %"),
    ("Station Ski Alpe : forfait 6 jours à 199 € en réservant avant novembre", "en réservant"),
]
KNOWN_MISSES: list[str] = [
    "Buffalo Grill : pour la fête des mères, le dessert est offert aux mamans",
    "Brioche Dorée : votre formule petit-déj à 3,90 € jusqu'à 10h",
    "Kinépolis : mercredi, la place est à 5,90 € pour tous",
]
GENUINE += [
    "Doctolib : RDV confirmé avec Dr Leroy le 14/04 à 10h15. Annulation sur doctolib.fr",
    "SNCF : votre train TGV 6203 part voie 7 à 14h32. Bon voyage !",
    "Amazon : votre colis sera livré aujourd'hui. Suivez-le sur amazon.fr/suivi",
    "Ameli : votre remboursement de 23,00 € a été effectué le 12/02.",
    "Impots.gouv : votre avis d'impôt 2025 est disponible dans votre espace particulier.",
    "La Poste : un colis vous attend en bureau de poste, munissez-vous d'une pièce d'identité.",
    "Crédit Agricole : opération de 120,00 € refusée, contactez votre agence.",
    "Chronopost : livraison prévue demain entre 9h et 13h. Code de livraison : 5531",
    "Veolia : intervention sur le réseau d'eau le 15/05 de 8h à 12h, coupure possible.",
    "Free : votre facture mobile de 19,99 € est disponible dans votre espace abonné.",
    "Ecole Jules Ferry : sortie scolaire vendredi, prévoir un pique-nique.",
    "Mairie de Nantes : les encombrants seront collectés mardi dans votre rue.",
    "Vinted : votre article a été vendu 15 €, envoyez-le avant le 20/03.",
    "Uber : votre chauffeur arrive dans 3 minutes, Peugeot 308 grise.",
    "Blablacar : votre trajet Paris-Lyon du 12/06 est confirmé, 25 € à payer au conducteur.",
    "Pôle emploi : votre entretien est fixé au 10/03 à 9h. Pensez à votre CV.",
    "Enedis : coupure de courant prévue le 18/04 de 9h à 11h pour travaux.",
    "Votre location de voiture est confirmée du 12 au 19 août, retrait à l'agence de l'aéroport.",
    "Cabinet dentaire : rappel de votre RDV demain à 16h. Merci de prévenir en cas d'empêchement.",
    "Votre commande Leclerc Drive est prête, retirez-la avant 19h30.",
    "Fondation de France : merci pour votre don de 40 €, votre reçu vous parviendra en avril.",
    "Secours Catholique : votre soutien a permis d'aider 1 200 familles cet hiver. Merci !",
    "Amnesty : signez notre pétition pour la libération de Nasrin, chaque signature compte.",
    "WWF : votre adhésion est renouvelée, merci de protéger la planète à nos côtés.",
    "Association sportive : l'entraînement de samedi est annulé à cause de la pluie.",
    "Paroisse Saint-Pierre : messe de Noël à 18h, venez nombreux.",
    "Restos du Coeur : nous recherchons des bénévoles pour la collecte des 7 et 8 mars.",
    "Ville de Lille : la bibliothèque est fermée lundi pour inventaire.",
    "Candidat Paul Martin : merci pour votre soutien au premier tour, rendez-vous dimanche !",
    "Parti Socialiste : l'université d'été aura lieu du 22 au 24 août à Blois, "
    "inscriptions ouvertes.",
    "Les Républicains : votez dimanche pour une France qui protège. Bureaux ouverts de 8h à 20h.",
    "Liste Citoyenne : réunion de quartier mardi 19h à la salle polyvalente, entrée libre.",
    "Votre mutuelle : votre demande de prise en charge de 350 € est acceptée.",
    "Votre pharmacie : vos lunettes sont arrivées, venez les récupérer.",
    "Ligue contre le cancer : grande quête nationale ce week-end, merci de votre générosité.",
    "Votre adhésion à la médiathèque expire le 30/06. Renouvellement gratuit pour "
    "les moins de 18 ans.",
    "EDF : votre compteur sera relevé le 12/09 entre 8h et 12h.",
    "Votre réservation au restaurant Le Zinc pour 2 personnes ce soir à 20h est confirmée.",
    "Rappel : votre abonnement de transport à 75,20 € sera prélevé le 5 du mois.",
    "Candidate Sophie Roux : découvrez notre programme pour l'école et la santé sur roux2026.fr",
    "Votre ordonnance de lunettes est prête, 2 paires à retirer chez Optical Center.",
    "Votre pneu a été remplacé, montant 89 €. Norauto Vannes vous remercie.",
    "Votre colis 3 articles sur 4 a été livré, le 4e arrive demain.",
    "Lycée Victor Hugo : réunion parents-professeurs jeudi 18h, salle 12.",
    "Votre prêt étudiant de 5 000 € sera versé le 01/09. Banque Populaire",
    "Votre dossier de subvention est complet, réponse sous 2 mois. Région Bretagne",
    "Votre carte de fidélité compte 250 points. Merci de votre confiance.",
    "Votre colis Vinted est arrivé en point relais, code de retrait 8812.",
    "Mairie : la cantine sera gratuite pour les familles au quotient familial inférieur à 600.",
    "Votre RDV à la Préfecture pour votre titre de séjour est fixé au 03/05 à 9h.",
    "Les Amis du Musée : conférence gratuite mercredi 18h sur Monet, réservation conseillée.",
    "Croix-Rouge : formation aux premiers secours samedi 9h, 60 € par participant.",
    "Votre abonnement Netflix de 13,49 € a échoué, mettez à jour votre moyen de paiement.",
    "Votre chèque de 150 € a été encaissé le 14/02.",
    "Hôpital Nord : votre consultation est reportée au 22/06 à 11h.",
    "Votre bulletin de salaire de mai est disponible sur votre espace.",
    "Parti Animaliste : 3 candidats pour 1 cause, votez le 9 juin !",
    "Votre fils est absent ce matin au collège, merci de justifier l'absence.",
    "Lidl : votre commande de 2 articles est prête en magasin.",
    "Rappel : la taxe d'habitation de 412 € est à régler avant le 15/11.",
    "Collecte de jouets au profit du Secours Populaire samedi devant la mairie.",
    "Votre trottinette est réservée, code de déverrouillage 4471 valable 10 min.",
    "Votre commande de 3 pizzas est en route, livraison estimée 20h15.",
    "Théâtre municipal : le spectacle de ce soir est annulé, remboursement sous 15 jours.",
    "Votre vol est confirmé, 2 bagages en soute inclus. Bon voyage !",
    "Conseil départemental : les routes sont verglacées, prudence ce matin.",
    "Votre banque : une nouvelle offre de prêt vous a été transmise, consultez votre espace.",
    "Mouvement Demain : merci aux 2 000 bénévoles, rendez-vous sur demain.org pour la suite.",
    "Votre consultation vidéo est gratuite et prise en charge à 100 % par l'Assurance Maladie.",
    "Votre commande 4471 est partiellement remboursée : 12 € pour l'article manquant.",
    "Votre rendez-vous à l'agence pour la signature de votre offre de prêt est confirmé le 12/05.",
    "Votre remise en main propre est prévue le 15/03 à 10h à l'agence.",
    "Remise des prix du concours de dessin samedi 14h à la mairie.",
    "Hausse de 3 % sur les tarifs de l'eau au 1er janvier, détails sur votre facture.",
    "Taux de 2,5 % sur les prêts étudiants, voir conditions en agence.",
    "Association Sourire : la kermesse de l'école aura lieu samedi, 1 € le ticket de tombola.",
    "Commune de Vannes : le marché de Noël ouvre vendredi, entrée libre.",
    "Votre contrat d'assurance auto est renouvelé, cotisation 2025 : 612 €.",
    "Votre note de frais de 84,20 € a été validée.",
    "Votre acompte de 300 € pour le mariage du 12/07 a bien été reçu. Salle des Chênes",
    "Ecole de danse : le gala aura lieu le 21/06, places à 8 € à retirer au secrétariat.",
    "Votre abonnement salle de sport est suspendu pour impayé de 29,90 €.",
    "Votre résiliation a été prise en compte, aucun frais ne vous sera facturé.",
    "Votre carte bancaire arrive à expiration, la nouvelle vous sera envoyée sous 15 jours.",
    "Parti Vert : nous proposons -20 % sur les émissions de CO2 d'ici 2030, votez le 9 juin.",
    "Candidat Lucas : pour la gratuité des transports scolaires, votez dimanche !",
    "Ville de Caen : la piscine sera fermée du 1er au 7 août pour vidange.",
    "Votre colis de 2 articles a été déposé dans votre boîte aux lettres.",
    "Votre déclaration de revenus est à faire avant le 25 mai sur impots.gouv.fr.",
    "Syndicat CGT : grève reconduite jeudi, rendez-vous à 10h place de la République.",
    "Votre commande de 2 places de concert est confirmée, e-billets envoyés par mail.",
    "Votre devis de 350 € pour la réparation est disponible, répondez OUI pour valider.",
    "Pharmacie : votre commande de lait infantile est arrivée, 2 boîtes à retirer.",
    "Votre réservation de 2 chambres pour 3 nuits est confirmée. Hôtel du Lac",
    "Votre demande de carte grise est en cours de traitement.",
    "Votre compte a été crédité de 50 € (remboursement suite à votre réclamation).",
    "Ligue des Droits : rassemblement samedi 15h, venez nombreux défendre nos libertés.",
    "Votre enfant a été inscrit à la cantine, tarif de 3,20 € par repas.",
    "Votre franchise de 150 € sera déduite de l'indemnisation.",
]


def _named(verdict: PromotionVerdict, phrase: str) -> bool:
    wanted = fold(phrase)
    return any(wanted in fold(signal) for signal in verdict.signals)


@pytest.mark.parametrize(("text", "signal"), MARKETING)
def test_marketing_text_is_promotional(text: str, signal: str) -> None:
    verdict = promotion_verdict(text)
    assert verdict.promotional, text
    assert _named(verdict, signal), verdict.signals


@pytest.mark.parametrize("text", KNOWN_MISSES)
@pytest.mark.xfail(strict=True, reason="a price or a gift with no word of promotion around it")
def test_known_misses(text: str) -> None:
    assert promotion_verdict(text).promotional


@pytest.mark.parametrize("text", GENUINE)
def test_genuine_text_is_not_promotional(text: str) -> None:
    assert not promotion_verdict(text).promotional, promotion_verdict(text).signals


def test_corpora_figures() -> None:
    marketing = [t for t, _ in MARKETING] + KNOWN_MISSES
    assert len(marketing) >= 40
    assert len(GENUINE) >= 40
    false_positives = [t for t in GENUINE if promotion_verdict(t).promotional]
    caught = [t for t in marketing if promotion_verdict(t).promotional]
    fp_rate = len(false_positives) / len(GENUINE)
    recall = len(caught) / len(marketing)
    print(
        f"\npromotion: false positives {len(false_positives)}/{len(GENUINE)} ({fp_rate:.1%}), "
        f"recall {len(caught)}/{len(marketing)} ({recall:.1%})"
    )
    assert false_positives == []
    assert recall >= 0.95


def test_signals_are_quoted_from_the_text() -> None:
    text = "SOLDES : -50% avec le code PROMO50 !"
    signals = promotion_verdict(text).signals
    assert "code PROMO50" in signals
    assert "-50%" in signals
    assert "SOLDES" in signals
    assert all(s in text for s in signals)


def test_quotes_survive_a_text_whose_folding_changes_its_length() -> None:
    # "œ" folds to two letters: the quote must still come from the original text.
    text = "Bœuf bourguignon : 2 pour 1 ce midi, -20% sur les desserts"
    verdict = promotion_verdict(text)
    assert verdict.promotional
    assert "-20%" in verdict.signals
    assert "2 pour 1" in verdict.signals


def test_strongest_signal_comes_first() -> None:
    verdict = promotion_verdict("Votre facture de 30 € : profitez de -10% avec le code MERCI10")
    assert verdict.promotional
    # Strong first (in text order), then medium, then weak.
    assert verdict.signals == ("-10%", "code MERCI10", "profitez", "30 €")


@pytest.mark.parametrize(
    "text",
    [
        "Votre commande de 45,90 € est confirmée.",
        "Livraison gratuite : votre commande arrive demain.",
        "Votre commande de 45,90 €, livraison gratuite, emballage cadeau, est en route.",
    ],
)
def test_weak_signals_alone_are_not_enough(text: str) -> None:
    verdict = promotion_verdict(text)
    assert not verdict.promotional
    assert verdict.signals  # but they are reported


@pytest.mark.parametrize(
    "text",
    [
        "Livraison gratuite : commandez maintenant !",
        "45,90 € : profitez-en !",
        "Profitez de la livraison offerte sur toute la boutique, 45 € le lot",
    ],
)
def test_weak_signals_with_a_call_to_buy_are_promotional(text: str) -> None:
    assert promotion_verdict(text).promotional


def test_a_bare_amount_needs_company() -> None:
    assert not promotion_verdict("Montant : 45,90 €").promotional
    assert promotion_verdict("Profitez : 45,90 € la paire").promotional


def test_amounts_count_once() -> None:
    text = "Facture 29,99 €, déjà réglé 10 €, reste 19,99 €, frais 2 €."
    verdict = promotion_verdict(text)
    assert not verdict.promotional
    assert len(verdict.signals) == 4


@pytest.mark.parametrize(
    "text",
    [
        "Votre code de vérification est 482913",
        "Votre code est KXZ42P, valable 5 minutes",
        "Saisissez le code ABCD12 pour confirmer votre paiement (sécurité)",
        "Code postal manquant sur votre commande",
        "VOTRE CODE EST 1234",
    ],
)
def test_verification_codes_are_not_promo_codes(text: str) -> None:
    assert not promotion_verdict(text).promotional


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("Avec le code NOEL, c'est la fête", "code NOEL"),
        ("Utilisez le code BIENVENUE10 sur le site", "code BIENVENUE10"),
        ("Code promo ETE : 10 € sur la glace", "code promo"),
        ("Avec le code {code}, votre glace est à moitié prix", "code {code}"),
    ],
)
def test_promo_codes(text: str, signal: str) -> None:
    verdict = promotion_verdict(text)
    assert verdict.promotional
    assert _named(verdict, signal), verdict.signals


def test_placeholders_are_ignored() -> None:
    # A field named like a promotion says nothing about the text.
    assert not promotion_verdict("Bonjour {prenom_promo}, votre {soldes} est prêt").promotional
    assert not promotion_verdict("{promo} {bon_plan} {remise}").signals


@pytest.mark.parametrize(
    "text",
    ["Ouvert non-stop", "Service 24h/24, 7j/7", "Assistance non-stop 24h/24 au 3900"],
)
def test_non_stop_and_24h_do_not_matter(text: str) -> None:
    verdict = promotion_verdict(text)
    assert verdict == PromotionVerdict(False, ())


def test_non_stop_does_not_hide_a_promotion() -> None:
    assert promotion_verdict("Soldes non-stop 24h/24 sur le site").promotional


def test_solde_of_an_account_is_not_soldes() -> None:
    assert not promotion_verdict("Votre solde est de 120 €").promotional
    assert promotion_verdict("Les soldes commencent mercredi").promotional


def test_tax_reduction_for_a_donation_is_not_a_discount() -> None:
    donation = "Un don de 50 € ne vous coûte que 17 € après réduction d'impôt"
    assert not promotion_verdict(donation).promotional
    assert not promotion_verdict("66 % de réduction d'impôt sur votre don").promotional
    # The same price phrase outside a donation is an advertised price.
    assert promotion_verdict("Cet abonnement ne vous coûte que 9 € par mois").promotional
    # And a charity that sells is caught.
    assert promotion_verdict("Faites un don ou achetez nos cartes de vœux, 12 €").promotional


def test_accents_and_case_are_folded() -> None:
    assert promotion_verdict("DÉSTOCKAGE").promotional
    assert promotion_verdict("destockage").promotional
    assert promotion_verdict("Réduction Immédiate en caisse").promotional
    assert promotion_verdict("reduction immediate en caisse").promotional


@pytest.mark.parametrize("dash", ["-", "–", "—", "−"])
def test_any_dash_makes_a_discount(dash: str) -> None:
    assert promotion_verdict(f"Tout à {dash}20 % ce samedi").promotional


def test_policy_figures_are_not_discounts() -> None:
    assert not promotion_verdict("Notre programme : -10% d'impôts locaux").promotional
    assert promotion_verdict("Notre magasin : -10% sur les luminaires").promotional


def test_booking_counts_are_not_two_for_one() -> None:
    assert not promotion_verdict("Chambre réservée : 2 pour 1 nuit").promotional
    assert not promotion_verdict("Table : 3 couverts pour 2 personnes").promotional
    assert promotion_verdict("Menus : 2 pour 1 ce soir").promotional
    assert promotion_verdict("Ce soir, c'est 2 pour 1.").promotional
    assert not promotion_verdict("Dosage : 2 pour 1,5 litre").promotional
    assert not promotion_verdict("3 candidats pour 1 cause, votez !").promotional


def test_links() -> None:
    assert promotion_verdict("Tout sur https://exemple.fr/promo-ete").promotional
    assert not promotion_verdict("Suivi : https://suivi.exemple.fr/AB12").signals
    weak = promotion_verdict("Suivi : https://shop.exemple.fr/commande/12")
    assert not weak.promotional
    assert weak.signals == ("https://shop.exemple.fr/commande/12",)


def test_empty_text() -> None:
    assert promotion_verdict("") == PromotionVerdict(False, ())


def test_fast_enough() -> None:
    texts = [t for t, _ in MARKETING] + GENUINE
    for text in texts:  # warm the character table
        promotion_verdict(text)
    start = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        for text in texts:
            promotion_verdict(text)
    per_text = (time.perf_counter() - start) / (rounds * len(texts))
    print(f"\npromotion: {per_text * 1e6:.1f} µs a text")
    assert per_text < 500e-6  # the target is ~50 µs; the bound leaves room for a loaded machine
