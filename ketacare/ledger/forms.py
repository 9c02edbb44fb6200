"""Forms of the ledger's pages: parsing only; the rules are in the services."""

from django import forms

from ketacare.ledger import choices as c


class RegistrantForm(forms.Form):
    name = forms.CharField(max_length=160)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    dea_number = forms.RegexField(regex=r"^[A-Za-z]{2}\d{7}$", label="DEA number",
                                  error_messages={"invalid": "A DEA number is two letters and seven digits."})


class LocationForm(forms.Form):
    registrant: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None)
    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=c.LocationKind.choices)

    def __init__(self, *args, registrants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["registrant"].queryset = registrants


class SupplierForm(forms.Form):
    name = forms.CharField(max_length=160)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    dea_number = forms.RegexField(regex=r"^[A-Za-z]{2}\d{7}$", label="DEA number",
                                  error_messages={"invalid": "A DEA number is two letters and seven digits."})


class ProductForm(forms.Form):
    substance = forms.ChoiceField(choices=c.Substance.choices)
    name = forms.CharField(max_length=160)
    ndc = forms.RegexField(regex=r"^\d{4,5}-\d{3,4}-\d{1,2}$", label="NDC",
                           error_messages={"invalid": "Enter the NDC with dashes, e.g. 0409-2051-05."})
    form = forms.CharField(max_length=80, label="Finished form")
    unit = forms.ChoiceField(choices=c.Unit.choices)
    mg_per_unit = forms.DecimalField(min_value=0.001, max_digits=8, decimal_places=3,
                                     label="Strength (mg per mL, or mg per device)")
    units_per_container = forms.DecimalField(min_value=0.001, max_digits=8, decimal_places=3,
                                             label="Per container (mL per vial, or devices)")


class ReceiveForm(forms.Form):
    product: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None)
    supplier: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None)
    location: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None)
    lot_number = forms.CharField(max_length=40)
    expires_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    containers = forms.IntegerField(min_value=1, max_value=10000)
    invoice_ref = forms.CharField(max_length=60, required=False, label="Invoice or packing slip")
    received_at = forms.DateTimeField(required=False, label="Actually received at",
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, products, suppliers, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        self.fields["supplier"].queryset = suppliers
        self.fields["location"].queryset = locations
