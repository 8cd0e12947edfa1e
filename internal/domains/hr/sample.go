package hr

import "github.com/passerelle-bus/passerelle/internal/domain"

func sample() any {
	return &Employment{
		Meta: domain.SampleMeta("hr"), EmployerSIRET: "11000601200010", EmployerName: "Ministère de l'Intérieur",
		Corps: "attachés d'administration de l'État", Grade: "attaché principal", Category: "A",
		Status: "TENURED", StartDate: domain.SampleDay("2011-09-01"), WorkingTimePercent: 80, GrossMonthlyPayCents: 392_117,
	}
}
