package Shop::Cart;
# 6.14.2.1: SHOP-1042
sub total { my ($self) = @_; return $self->subtotal - $self->active_discounts; }
1;
