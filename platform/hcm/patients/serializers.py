"""Shapes of the hand-written patient endpoints; identities are always masked."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import serializers

from hcm.patients import identity
from hcm.patients.models import Binding, Gender


class SignInSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=128, help_text="The `code` WeChat appended to the redirect URI.")


class SandboxSignInSerializer(serializers.Serializer):
    openid = serializers.RegexField(r"^[A-Za-z0-9_-]{6,64}$", help_text="Any stable id of the demo user.")
    nickname = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class AuthorizeQuerySerializer(serializers.Serializer):
    redirect_uri = serializers.URLField(max_length=500)
    scope = serializers.ChoiceField(choices=["snsapi_base", "snsapi_userinfo"], default="snsapi_base")
    state = serializers.RegexField(r"^[A-Za-z0-9_-]{0,128}$", required=False, default="")


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Bearer <token>`.")
    expires_at = serializers.DateTimeField()
    account = AccountSerializer()


class PersonSerializer(serializers.Serializer):
    """A bound person as the patient sees them: masked name, ID number, phone and card."""

    name = serializers.CharField(source="masked_name")
    gender = serializers.ChoiceField(choices=Gender.choices)
    gender_label = serializers.CharField(source="get_gender_display")
    id_number = serializers.CharField(source="masked_id_number")
    phone = serializers.CharField(source="masked_phone")
    medical_card_number = serializers.CharField(source="masked_card_number")


class BindingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    relation = serializers.ChoiceField(choices=Binding.Relation.choices)
    relation_label = serializers.CharField(source="get_relation_display")
    is_current = serializers.SerializerMethodField()
    person = PersonSerializer(source="patient")
    created_at = serializers.DateTimeField()

    def get_is_current(self, binding: Binding) -> bool:
        return binding.patient_id == self.context["account"].current_patient_id


class BindInputSerializer(serializers.Serializer):
    """The identifying details; which are required is the hospital's `binding.identify_by`."""

    name = serializers.CharField(max_length=50, required=False)
    id_number = serializers.CharField(max_length=18, required=False)
    phone = serializers.CharField(max_length=11, required=False)
    medical_card_number = serializers.CharField(max_length=32, required=False)
    relation = serializers.ChoiceField(choices=Binding.Relation.choices, default=Binding.Relation.SELF)

    def validate(self, attrs):
        rules = self.context["hospital"].settings.binding
        errors = {}
        for name in rules.identify_by:
            if not attrs.get(name, "").strip():
                errors[name] = [_("This field is required.")]
        checks = {"id_number": identity.validate_id_number, "phone": identity.validate_phone}
        for name, check in checks.items():
            if attrs.get(name) and name not in errors:
                try:
                    check(attrs[name])
                except DjangoValidationError as error:
                    errors[name] = list(error.messages)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class MyPageSerializer(serializers.Serializer):
    account = AccountSerializer()
    current = BindingSerializer(allow_null=True, help_text="The person orders, appointments and reports are for.")
    bindings = BindingSerializer(many=True)
    balance = serializers.DictField(allow_null=True, help_text="The current person's balance card (see wallet/).")
    distribution = serializers.DictField(
        allow_null=True,
        help_text='"status": none (offer "become a distributor"), pending, rejected or approved (the centre), '
        'and "withdrawable"; null where the hospital has no distribution programme.',
    )
    counts = serializers.DictField(child=serializers.IntegerField())
    features = serializers.ListField(child=serializers.CharField())
    binding_rules = serializers.DictField()
