from rest_framework.permissions import BasePermission, DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Django's model permissions, including ``view_*`` for reads.

    DRF's own class lets any authenticated user read; here reading customers needs
    ``crm.view_customer``, so a user in no group sees nothing.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


def view_permission(*perms: str):
    """A permission class for views without a model queryset (forecast, reports)."""

    class _HasPerms(BasePermission):
        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    _HasPerms.__name__ = "HasPerms(" + ",".join(perms) + ")"
    return _HasPerms
